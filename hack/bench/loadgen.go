package bench

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions configure a closed-loop load run. Both bounds apply: the run
// stops after Duration or after MaxRequests, whichever comes first.
type LoadOptions struct {
	Addr        string
	Hosts       []string // rotated per request
	Path        string
	KeepAlive   bool // one kept connection per worker; else a new connection per request
	Workers     int
	Duration    time.Duration
	MaxRequests int64
	Timeout     time.Duration // per request
	// Valid says whether a reply is a success; nil accepts any 200.
	Valid func(Reply) bool
}

// ErrorEvent is one failed request and when it happened.
type ErrorEvent struct {
	At   time.Time
	Kind string
}

// LoadResult is what a load run saw.
type LoadResult struct {
	Requests  int64
	Errors    map[string]int64 // by kind
	Events    []ErrorEvent     // the first errors, with their times
	Latencies []time.Duration  // of successful requests (capped)
	Elapsed   time.Duration
}

// ErrorCount is the number of failed requests.
func (r LoadResult) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// ErrorKinds lists the error kinds and counts, sorted.
func (r LoadResult) ErrorKinds() string {
	if len(r.Errors) == 0 {
		return "none"
	}
	s := ""
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		if s != "" {
			s += ", "
		}
		s += k + " " + itoa(r.Errors[k])
	}
	return s
}

// RPS is successful plus failed requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

const (
	maxLatencySamples = 2_000_000
	maxErrorEvents    = 1000
)

// RunLoad runs o.Workers closed-loop clients until a bound is reached or
// ctx ends.
func RunLoad(ctx context.Context, o LoadOptions) LoadResult {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Valid == nil {
		o.Valid = func(r Reply) bool { return r.Status == 200 }
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var issued atomic.Int64
	var mu sync.Mutex
	res := LoadResult{Errors: map[string]int64{}}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ka := &KeepAlive{Addr: o.Addr, Timeout: o.Timeout}
			defer ka.Close()
			var lat []time.Duration
			errs := map[string]int64{}
			var events []ErrorEvent
			var n int64
			for i := w; ctx.Err() == nil && issued.Add(1) <= o.MaxRequests; i++ {
				host := o.Hosts[i%len(o.Hosts)]
				t0 := time.Now()
				var r Reply
				var err error
				if o.KeepAlive {
					r, err = ka.Get(host, o.Path)
				} else {
					r, err = GetOnce(o.Addr, host, o.Path, o.Timeout)
				}
				n++
				kind := ""
				switch {
				case err != nil:
					kind = Kind(err)
				case !o.Valid(r):
					kind = "status:" + itoa(int64(r.Status))
					if r.Status == 200 {
						kind = "wrong-backend"
					}
				}
				if kind == "" {
					if len(lat) < maxLatencySamples/max(o.Workers, 1) {
						lat = append(lat, time.Since(t0))
					}
					continue
				}
				errs[kind]++
				if len(events) < maxErrorEvents {
					events = append(events, ErrorEvent{At: time.Now(), Kind: kind})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.Requests += n
			for k, v := range errs {
				res.Errors[k] += v
			}
			res.Events = append(res.Events, events...)
			res.Latencies = append(res.Latencies, lat...)
		}(w)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.SortFunc(res.Events, func(a, b ErrorEvent) int { return a.At.Compare(b.At) })
	return res
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
