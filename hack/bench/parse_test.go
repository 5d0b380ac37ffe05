package bench

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

const wrkOutput = `Running 10s test @ http://127.0.0.1:8080/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  31.20ms   90.00%
    Req/Sec    12.01k   800.00    13.50k    70.00%
  Latency Distribution
     50%    1.95ms
     75%    2.40ms
     90%    3.01ms
     99%  850.00us
  239000 requests in 10.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 1, timeout 0
  Non-2xx or 3xx responses: 3
Requests/sec:  23899.12
Transfer/sec:     12.00MB
`

func TestParseWrk(t *testing.T) {
	r, err := ParseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := WrkResult{RPS: 23899.12, Requests: 239000, P50: 1950 * time.Microsecond, P99: 850 * time.Microsecond, Non2xx: 3, SocketErrors: 3}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := ParseWrk("unable to connect"); err == nil {
		t.Error("no Requests/sec must be an error")
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := Summarize(ds)
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P90 != 90*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Errorf("%+v", s)
	}
	if got := Summarize(ds[:1]); got.P99 != 100*time.Millisecond {
		t.Errorf("one sample: %+v", got)
	}
	if MedianFloat([]float64{3, 1, 2, 4}) != 2.5 {
		t.Error("median of an even count")
	}
}

func TestKind(t *testing.T) {
	for err, want := range map[error]string{
		&RequestError{Stage: "read", Err: syscall.ECONNRESET}:   "read:reset",
		&RequestError{Stage: "dial", Err: syscall.ECONNREFUSED}: "dial:refused",
		&RequestError{Stage: "read", Err: io.ErrUnexpectedEOF}:  "read:eof",
		errors.New("x"): "other:other",
	} {
		if got := Kind(err); got != want {
			t.Errorf("Kind(%v) = %s, want %s", err, got, want)
		}
	}
}

func TestScaleItems(t *testing.T) {
	for _, c := range []struct {
		subnet   string
		low, top byte
	}{{"198.18.2.0/25", 76, 125}, {"198.18.2.128/25", 204, 253}, {"198.18.2.0/24", 204, 253}} {
		items := ScaleItems("s", 120, Namespaces("s", 3), 5, netip.MustParsePrefix(c.subnet))
		if len(items) != 120 || items[4].Namespace != "s-1" || items[119].Host != "app-119.s.bench" {
			t.Fatalf("%+v", items[4])
		}
		seen := map[byte]bool{}
		for _, it := range items {
			for _, a := range it.Addrs {
				b := a.As4()
				if b[0] != 198 || b[2] != 2 || b[3] < c.low || b[3] > c.top {
					t.Fatalf("%s: address %s outside the top 50 addresses of the subnet", c.subnet, a)
				}
				seen[b[3]] = true
			}
		}
		if len(seen) != 50 {
			t.Errorf("%s: %d distinct addresses, want 50", c.subnet, len(seen))
		}
	}
}

func TestP5Ratio(t *testing.T) {
	r := P5Result{Turns: []P5Turn{
		{Config: "bollard", RPS: 90}, {Config: "hand", RPS: 100},
		{Config: "bollard", RPS: 50}, {Config: "hand", RPS: 50},
		{Config: "bollard", RPS: 190}, {Config: "hand", RPS: 200},
	}}
	if got := r.Ratio(); got != 0.95 {
		t.Errorf("ratio %v, want the median of 0.9, 1 and 0.95", got)
	}
}

func TestWrkScript(t *testing.T) {
	got := WrkScript("/health", []string{"a.example", "b.example"})
	for _, want := range []string{`local hosts = {"a.example", "b.example"}`, `wrk.format("GET", "/health", {["Host"] = hosts[i]})`} {
		if !strings.Contains(got, want) {
			t.Errorf("script lacks %s:\n%s", want, got)
		}
	}
}

func TestReportTable(t *testing.T) {
	r := &Report{Title: "T"}
	r.Add("P1", "m", "", "x", NoGoal)
	r.AddTable(Table{Title: "By version", Header: []string{"a", "b"}, Rows: [][]string{{"1", "x|y"}, {"2"}}})
	r.Note("n")
	want := "T\n\n| id | measure | target | measured | verdict |\n|---|---|---|---|---|\n| P1 | m |   | x | — |\n" +
		"\nBy version\n\n| a | b |\n|---|---|\n| 1 | x\\|y |\n| 2 |   |\n\n- n\n"
	if got := r.Markdown(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
