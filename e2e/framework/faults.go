package framework

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stateDir is the cluster's state directory: the one the framework
// started, or the one beside a reused cluster's kubeconfig.
func (c *Cluster) stateDir() (string, error) {
	if c.StateDir != "" {
		return c.StateDir, nil
	}
	dir := filepath.Dir(c.Kubeconfig)
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		return "", fmt.Errorf("no state.json beside %s: cannot control the API server of this cluster", c.Kubeconfig)
	}
	return dir, nil
}

// StopAPIServer stops the cluster's kube-apiserver alone (SIGTERM, then
// SIGKILL after grace); everything else keeps running.
func (c *Cluster) StopAPIServer(ctx context.Context, grace time.Duration) error {
	dir, err := c.stateDir()
	if err != nil {
		return err
	}
	out, err := c.testcluster(ctx, grace+time.Minute, "apiserver", "stop", "--state", dir, "--grace", grace.String())
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again and waits for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	dir, err := c.stateDir()
	if err != nil {
		return err
	}
	out, err := c.testcluster(ctx, 3*time.Minute, "apiserver", "start", "--state", dir, "--timeout", "2m")
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// Sample is one request of a Load.
type Sample struct {
	At  time.Time
	Err error // nil when the request got the wanted answer
}

// Load sends one request after another (a pause of Interval between
// them) until Stop, or until it has run for MaxDuration or sent MaxCount
// requests, whichever comes first, so that a test that forgets Stop still
// ends its load.
type Load struct {
	mu      sync.Mutex
	samples []Sample
	stop    chan struct{}
	done    chan struct{}
}

// LoadOptions bound a Load.
type LoadOptions struct {
	Interval    time.Duration // default 20ms
	MaxDuration time.Duration // default 5 minutes
	MaxCount    int           // default 20000
	// Check decides whether an answer is a success; default: status 200.
	Check func(*Response) error
}

// StartLoad starts sending r. Stop it with Stop (also called at cleanup).
func StartLoad(t testing.TB, r Request, o LoadOptions) *Load {
	t.Helper()
	if o.Interval == 0 {
		o.Interval = 20 * time.Millisecond
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = 5 * time.Minute
	}
	if o.MaxCount == 0 {
		o.MaxCount = 20000
	}
	if o.Check == nil {
		o.Check = func(resp *Response) error {
			if resp.Status != http.StatusOK {
				return fmt.Errorf("status %d: %.200s", resp.Status, resp.Body)
			}
			return nil
		}
	}
	if r.Timeout == 0 {
		r.Timeout = 2 * time.Second
	}
	l := &Load{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		deadline := time.Now().Add(o.MaxDuration)
		for n := 0; n < o.MaxCount && time.Now().Before(deadline); n++ {
			at := time.Now()
			resp, err := Do(context.Background(), r)
			if err == nil {
				err = o.Check(resp)
			}
			l.mu.Lock()
			l.samples = append(l.samples, Sample{At: at, Err: err})
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-time.After(o.Interval):
			}
		}
	}()
	t.Cleanup(func() { l.Stop() })
	return l
}

// Stop ends the load and waits for the request in flight.
func (l *Load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// Between returns how many requests started in [from, to) and which failed.
func (l *Load) Between(from, to time.Time) (total int, failed []Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.samples {
		if s.At.Before(from) || !s.At.Before(to) {
			continue
		}
		total++
		if s.Err != nil {
			failed = append(failed, s)
		}
	}
	return total, failed
}

// FirstSuccessAfter returns when the first request that started after t
// succeeded.
func (l *Load) FirstSuccessAfter(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.samples {
		if s.At.After(t) && s.Err == nil {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// Count returns how many requests were sent so far.
func (l *Load) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.samples)
}

// MetricSamples returns every sample of a metric by its label set, such as
// `{cause="startup",result="success"}` ("" for a metric without labels).
func (b *Bollard) MetricSamples(t testing.TB, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(b.Health) + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		i := strings.LastIndexByte(rest, ' ')
		v, err := strconv.ParseFloat(rest[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[strings.TrimSpace(rest[:i])] = v
	}
	return out
}

// Alive reports whether the controller process still runs.
func (b *Bollard) Alive() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// PID is the controller's process ID, or 0 when it does not run.
func (b *Bollard) PID() int {
	if !b.Alive() {
		return 0
	}
	return b.cmd.Process.Pid
}
