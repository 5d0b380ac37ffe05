package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadTimeout bounds Reload when ctx has no deadline.
const DefaultReloadTimeout = 60 * time.Second

// Master is a client of the master CLI socket (master.sock).
type Master struct {
	conn     *cliConn
	logger   *slog.Logger
	reloadMu sync.Mutex   // one reload in flight
	retries  atomic.Int64 // transient socket errors retried, for tests
	features atomic.Pointer[Features]
}

// UseFeatures tells the client which version it talks to (FeaturesFor);
// until then it assumes the 2.6 behaviour.
func (m *Master) UseFeatures(f Features) { m.features.Store(&f) }

func (m *Master) reloadStatus() bool {
	f := m.features.Load()
	return f != nil && f.ReloadStatus
}

// NewMaster returns a client of the master socket at socketPath. It
// connects on first use.
func NewMaster(socketPath string, logger *slog.Logger) *Master {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// No "set severity-output": 2.6's master does not know it.
	return &Master{
		conn:   &cliConn{path: socketPath, prompt: masterPrompt, idle: 5 * time.Second, logger: logger},
		logger: logger,
	}
}

// masterPrompt ends the master's replies; after a failed reload 2.6 shows
// "master[ReloadFailed]> ".
var masterPrompt = regexp.MustCompile(`^master(\[[^\]\n]*\])?> $`)

func withDefault(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// call sends one command. The master refuses or drops connections while it
// re-executes for a reload (seconds for big configs), so transient errors
// are retried with backoff, 20 ms doubling to maxDelay, until ctx ends (or
// DefaultTimeout without a deadline). 20 ms because a small config
// re-executes in about 60 ms.
func (m *Master) call(ctx context.Context, cmd string, maxDelay time.Duration) (string, error) {
	ctx, cancel := withDefault(ctx, DefaultTimeout)
	defer cancel()
	delay := 20 * time.Millisecond
	for {
		var reply string
		err := m.conn.do(ctx, func(s *session) error {
			r, err := s.send(cmd + "\n")
			reply = r
			return err
		})
		if err == nil {
			return reply, nil
		}
		if ce := ctxErr(ctx, err); ce != nil {
			return "", fmt.Errorf("master %q: %w (last error: %w)", cmd, ce, err)
		}
		if !isTransient(err) {
			return "", fmt.Errorf("master %q: %w", cmd, err)
		}
		m.retries.Add(1)
		m.logger.Debug("master socket busy; retrying", "path", m.conn.path, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("master %q: %w (last error: %w)", cmd, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, maxDelay)
	}
}

// Processes returns the master's `show proc`: the master first, then the
// current workers, then old workers (Old) that finish their connections.
func (m *Master) Processes(ctx context.Context) ([]Process, error) {
	return m.processes(ctx, time.Second)
}

func (m *Master) processes(ctx context.Context, maxDelay time.Duration) ([]Process, error) {
	out, err := m.call(ctx, "show proc", maxDelay)
	if err != nil {
		return nil, err
	}
	procs, err := parseShowProc(out)
	if err != nil {
		return nil, fmt.Errorf("master %s: %w", m.conn.path, err)
	}
	return procs, nil
}

// Ping checks that the master answers.
func (m *Master) Ping(ctx context.Context) error {
	out, err := m.call(ctx, "show version", time.Second)
	if err != nil {
		return err
	}
	if v := strings.TrimSpace(out); v == "" || v[0] < '0' || v[0] > '9' {
		return fmt.Errorf("master %s: unexpected show version reply %q", m.conn.path, oneLine(out))
	}
	return nil
}

// Reload asks the master to reload and waits until a new worker serves.
// 2.6 answers `reload` with nothing and closes the connection, so success
// is read from `show proc`: a worker whose PID was not there before,
// which then answers a command relayed by the master. A config that does
// not load raises the master's failed-reload count and keeps the old
// worker; Reload then returns an error. Without a ctx deadline it waits
// DefaultReloadTimeout.
func (m *Master) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	ctx, cancel := withDefault(ctx, DefaultReloadTimeout)
	defer cancel()
	start := time.Now()
	before, err := m.Processes(ctx)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	seen := map[int]bool{}
	for _, p := range before {
		seen[p.PID] = true
	}
	status, err := m.sendReloadWhenFree(ctx)
	if err != nil {
		return err
	}
	if status != nil {
		if !status.ok {
			return fmt.Errorf("reload: HAProxy did not load the new config; the previous worker keeps serving: %s", status.alerts())
		}
		if m.reloadStatus() {
			// 3.x answers once the new worker is ready.
			m.logger.Info("haproxy reloaded", "took", time.Since(start))
			return nil
		}
	}
	delay := 10 * time.Millisecond
	for {
		// A refused connect or a show proc costs microseconds while the
		// wait adds to the reload time (the master of a small config
		// answers again after 100-250 ms, of a 10k-Ingress one after
		// seconds), so both the call timeout and the backoff stop at 50 ms.
		procs, err := m.processes(ctx, 50*time.Millisecond)
		if err != nil {
			return fmt.Errorf("reload: wait for the new worker: %w", err)
		}
		if pid := newWorker(procs, seen); pid != 0 {
			if m.workerAnswers(ctx, pid) {
				m.logger.Info("haproxy reloaded", "worker", pid, "took", time.Since(start))
				return nil
			}
		} else if procs[0].Reloads > before[0].Reloads && procs[0].FailedReloads > 0 {
			return fmt.Errorf("reload: HAProxy did not load the new config (master reload %d, %d failed); "+
				"the previous worker keeps serving; run haproxy -c on the config for details",
				procs[0].Reloads, procs[0].FailedReloads)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reload: no new worker after %s: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// newWorker returns a current worker that is not in seen, or 0.
func newWorker(procs []Process, seen map[int]bool) int {
	for _, p := range procs {
		if p.Role == "worker" && !p.Old && !seen[p.PID] {
			return p.PID
		}
	}
	return 0
}

// reloadReply is the master's answer to `reload` on 3.x: "Success=1" or
// "Success=0", "--", then the startup log of the new worker.
type reloadReply struct {
	ok  bool
	log string
}

// alerts returns the [ALERT] lines of the startup log, else all of it.
func (r *reloadReply) alerts() string {
	var lines []string
	for _, line := range strings.Split(r.log, "\n") {
		if strings.Contains(line, "[ALERT]") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		return oneLine(r.log)
	}
	return oneLine(strings.Join(lines, "\n"))
}

// busy reports a reload refused because another one (not ours: Reload
// holds reloadMu) is still under way.
func (r *reloadReply) busy() bool {
	return !r.ok && strings.Contains(r.log, "Another reload is still in progress")
}

// sendReloadWhenFree sends `reload` until the master takes it: 3.x refuses
// one while another reload is under way ("Success=0", "Another reload is
// still in progress."), as 2.6 refuses connections then. Retried with
// backoff, 20 ms doubling to 1 s, until ctx ends.
func (m *Master) sendReloadWhenFree(ctx context.Context) (*reloadReply, error) {
	delay := 20 * time.Millisecond
	for {
		status, err := m.sendReload(ctx)
		if err != nil || status == nil || !status.busy() {
			return status, err
		}
		m.retries.Add(1)
		m.logger.Debug("master socket busy; retrying", "path", m.conn.path, "in", delay, "err", "another reload is in progress")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reload: another reload is still in progress: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// parseReloadReply reads a reply to `reload`: nil for 2.6's empty one.
func parseReloadReply(out string) (*reloadReply, error) {
	s := strings.TrimSpace(out)
	if s == "" {
		return nil, nil
	}
	first, rest, _ := strings.Cut(s, "\n")
	switch strings.TrimSpace(first) {
	case "Success=1":
		return &reloadReply{ok: true, log: strings.TrimPrefix(rest, "--\n")}, nil
	case "Success=0":
		return &reloadReply{ok: false, log: strings.TrimPrefix(rest, "--\n")}, nil
	}
	return nil, fmt.Errorf("reload: master replied %q", oneLine(s))
}

// sendReload sends `reload` on a connection of its own: the master closes
// it when it re-executes, and a reply-less close on the kept connection
// would be taken for a stale connection and the reload sent twice. 2.6
// closes it without a word; 3.x answers when the new worker is ready or
// failed, which for a big config takes seconds, so the read waits as long
// as ctx allows.
func (m *Master) sendReload(ctx context.Context) (*reloadReply, error) {
	delay := 20 * time.Millisecond
	var conn net.Conn
	for {
		var err error
		d := net.Dialer{Deadline: deadlineOf(ctx, DefaultTimeout)}
		conn, err = d.DialContext(ctx, "unix", m.conn.path)
		if err == nil {
			break
		}
		if !isTransient(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("reload: connect to %s: %w", m.conn.path, err)
		}
		m.retries.Add(1)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reload: connect to %s: %w", m.conn.path, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadlineOf(ctx, DefaultReloadTimeout))
	if _, err := io.WriteString(conn, "reload\n"); err != nil {
		return nil, fmt.Errorf("reload: write to %s: %w", m.conn.path, err)
	}
	// Nothing more to send: 3.4 keeps the connection of a refused reload
	// ("Another reload is still in progress.") open until it reads EOF.
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	out, err := io.ReadAll(conn)
	if err != nil && !isClosed(err) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return nil, fmt.Errorf("reload: read from %s: %w", m.conn.path, err)
		}
		m.logger.Warn("master did not close the connection after reload", "path", m.conn.path)
	}
	return parseReloadReply(string(out))
}

// workerAnswers relays "show info" to the worker through the master. It
// answers once it runs its event loop, by which time it has bound the
// listeners and told the old workers to stop.
func (m *Master) workerAnswers(ctx context.Context, pid int) bool {
	var reply string
	err := m.conn.do(ctx, func(s *session) error {
		r, err := s.send("@!" + strconv.Itoa(pid) + " show info\n")
		reply = r
		return err
	})
	if err != nil {
		m.logger.Debug("new worker does not answer yet", "worker", pid, "err", err)
		return false
	}
	return infoField(reply, "Pid") == strconv.Itoa(pid)
}

// Close closes the kept connection.
func (m *Master) Close() error { return m.conn.close() }
