package haproxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// records is a slog handler that keeps the records it is given.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// infos returns the info records as "message attr=value ...".
func (r *records) infos() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.list {
		if rec.Level != slog.LevelInfo {
			continue
		}
		line := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key != "source" {
				line += " " + a.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

func TestParseProxyStop(t *testing.T) {
	for line, want := range map[string]*proxyStop{
		"[WARNING]  (12704) : Proxy ns_app_80 stopped (cumulated conns: FE: 0, BE: 3).": {pid: "12704", be: 3},
		"[WARNING] (7) : Proxy http stopped (cumulated conns: FE: 53, BE: 0).":          {pid: "7", fe: 53},
		"[WARNING]  (12704) : Proxy ns_app_80 stopped (cumulated conns: FE: 0, BE: 3)":  nil, // cut short
		"[NOTICE]   (12702) : Proxy ns_app_80 stopped (cumulated conns: FE: 0, BE: 3).": nil,
		"[WARNING]  (x1) : Proxy ns_app_80 stopped (cumulated conns: FE: 0, BE: 3).":    nil,
		"[WARNING]  (12704) : Server ns_app_80/s1 is DOWN, reason: Layer4 timeout.":     nil,
		"[WARNING]  (12704) : Proxy a stopped (cumulated conns: FE: -, BE: 3).":         nil,
	} {
		got, ok := parseProxyStop(line)
		if ok != (want != nil) || (ok && got != *want) {
			t.Errorf("%q: got %+v %v, want %+v", line, got, ok, want)
		}
	}
}

// TestLogOutputSumsProxyStops: a stopping worker's line per proxy becomes
// one info line per worker, at the next other line, at the end, or after
// a quiet spell; every other line is logged and kept as it was.
func TestLogOutputSumsProxyStops(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("[NOTICE]   (1) : Reloading HAProxy\n")
	for i := range 3 {
		in.WriteString("[WARNING]  (2) : Proxy p" + string(rune('a'+i)) + " stopped (cumulated conns: FE: 1, BE: 2).\n")
	}
	in.WriteString("[WARNING]  (3) : Proxy px stopped (cumulated conns: FE: 0, BE: 5).\n")
	in.WriteString("[NOTICE]   (1) : Former worker (2) exited with code 0 (Exit)\n")
	in.WriteString("[WARNING]  (3) : Proxy py stopped (cumulated conns: FE: 0, BE: 1).\n")
	rec := &records{}
	var kept []string
	logOutput(&in, slog.New(rec), time.Hour, func(line string) { kept = append(kept, line) })
	want := []string{
		"[NOTICE]   (1) : Reloading HAProxy",
		"haproxy worker stopped its proxies pid=2 proxies=3 frontend_conns=3 backend_conns=6",
		"haproxy worker stopped its proxies pid=3 proxies=1 frontend_conns=0 backend_conns=5",
		"[NOTICE]   (1) : Former worker (2) exited with code 0 (Exit)",
		"haproxy worker stopped its proxies pid=3 proxies=1 frontend_conns=0 backend_conns=1",
	}
	if got := rec.infos(); !slices.Equal(got, want) {
		t.Errorf("info lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(kept) != 2 || len(rec.list) != 5+5 {
		t.Errorf("kept %q, %d records; want the 2 other lines kept and the 5 stop lines at debug level", kept, len(rec.list))
	}

	// Nothing after the stop lines for a while: the summary comes anyway.
	r, w := io.Pipe()
	rec = &records{}
	done := make(chan struct{})
	go func() {
		logOutput(r, slog.New(rec), 20*time.Millisecond, func(string) {})
		close(done)
	}()
	io.WriteString(w, "[WARNING]  (4) : Proxy p stopped (cumulated conns: FE: 0, BE: 0).\n")
	for deadline := time.Now().Add(5 * time.Second); len(rec.infos()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no summary after a quiet spell")
		}
	}
	w.Close()
	<-done
	if got := rec.infos(); len(got) != 1 {
		t.Errorf("after the quiet spell and the end: %q, want one summary", got)
	}
}
