package haproxy

import (
	"bufio"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// A worker that stops (after a reload) prints one line per proxy: at 10k
// backends 10k lines per reload, 230k lines in one benchmark run, each
// formatted and written by the controller. They are logged at debug level
// and summed up in one info line per worker.

// stopQuiet is how long the summary of a worker's stop lines waits for
// more of them when HAProxy prints nothing else.
const stopQuiet = time.Second

// proxyStop is one "Proxy NAME stopped (cumulated conns: FE: n, BE: m)."
// line of the worker pid.
type proxyStop struct {
	pid    string
	fe, be int64
}

// parseProxyStop reads a proxy stop line, as HAProxy 2.6-3.4 print it:
// `[WARNING]  (12704) : Proxy app_80 stopped (cumulated conns: FE: 0, BE: 3).`
func parseProxyStop(line string) (proxyStop, bool) {
	rest, ok := strings.CutPrefix(line, "[WARNING]")
	if !ok {
		return proxyStop{}, false
	}
	rest = strings.TrimLeft(rest, " ")
	rest, ok = strings.CutPrefix(rest, "(")
	if !ok {
		return proxyStop{}, false
	}
	pid, rest, ok := strings.Cut(rest, ") : Proxy ")
	if !ok || pid == "" || strings.Trim(pid, "0123456789") != "" {
		return proxyStop{}, false
	}
	_, counts, ok := strings.Cut(rest, " stopped (cumulated conns: FE: ")
	if !ok {
		return proxyStop{}, false
	}
	fe, counts, ok := strings.Cut(counts, ", BE: ")
	if !ok {
		return proxyStop{}, false
	}
	be, ok := strings.CutSuffix(counts, ").")
	if !ok {
		return proxyStop{}, false
	}
	feN, err1 := strconv.ParseInt(fe, 10, 64)
	beN, err2 := strconv.ParseInt(be, 10, 64)
	if err1 != nil || err2 != nil {
		return proxyStop{}, false
	}
	return proxyStop{pid: pid, fe: feN, be: beN}, true
}

// stopSummary sums the stop lines of one worker.
type stopSummary struct {
	proxyStop
	proxies int
}

// logOutput logs what HAProxy prints on r, line by line, until r ends;
// keep is called with every line but the proxy stop lines.
func logOutput(r io.Reader, logger *slog.Logger, quiet time.Duration, keep func(string)) {
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var sum stopSummary
	flush := func() {
		if sum.proxies > 0 {
			logger.Info("haproxy worker stopped its proxies", "source", "haproxy", "pid", sum.pid,
				"proxies", sum.proxies, "frontend_conns", sum.fe, "backend_conns", sum.be)
		}
		sum = stopSummary{}
	}
	timer := time.NewTimer(quiet)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				flush()
				return
			}
			if stop, ok := parseProxyStop(line); ok {
				if stop.pid != sum.pid {
					flush()
				}
				sum.pid, sum.proxies = stop.pid, sum.proxies+1
				sum.fe += stop.fe
				sum.be += stop.be
				logger.Debug(line, "source", "haproxy")
				timer.Reset(quiet)
				continue
			}
			flush()
			logger.Info(line, "source", "haproxy")
			keep(line)
		case <-timer.C:
			flush()
		}
	}
}
