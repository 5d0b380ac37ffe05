package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Summary describes a set of latency samples.
type Summary struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
}

// Summarize computes nearest-rank percentiles of samples.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{
		N: len(s), Min: s[0], Max: s[len(s)-1],
		P50: Percentile(s, 0.50), P90: Percentile(s, 0.90), P99: Percentile(s, 0.99),
	}
}

// Percentile returns the nearest-rank q-quantile of sorted samples.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// String is "p50 / p90 / p99 / max" in milliseconds.
func (s Summary) String() string {
	if s.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s ms (n=%d)", Ms(s.P50), Ms(s.P90), Ms(s.P99), Ms(s.Max), s.N)
}

// Short is "p50 / p99 / max" in milliseconds.
func (s Summary) Short() string {
	if s.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p99 %s, max %s ms (n=%d)", Ms(s.P50), Ms(s.P99), Ms(s.Max), s.N)
}

// Ms formats d in milliseconds with one decimal (two below 1 ms).
func Ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 1 {
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// MedianDuration is the median of ds (the lower middle for an even count).
func MedianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// MedianFloat is the median of fs (the mean of the middle two for an even count).
func MedianFloat(fs []float64) float64 {
	if len(fs) == 0 {
		return 0
	}
	s := slices.Clone(fs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MiB formats a byte count in MiB (in KiB below 1 MiB).
func MiB(bytes int64) string {
	if bytes < 1<<20 {
		return strconv.FormatFloat(float64(bytes)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(bytes)/(1<<20), 'f', 1, 64) + " MiB"
}
