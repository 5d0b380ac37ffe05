package bench

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
)

// The benchmarks' pod subnets, halves of 198.18.2.0/24 (tests use
// 198.18.0.0/24 and others, the demo 198.18.1.0/24), so that `make bench`
// and the smoke run of `make test` can run at once.
const (
	FullSubnet  = "198.18.2.0/25"
	SmokeSubnet = "198.18.2.128/25"
)

var (
	cluster *framework.Cluster

	fullRun = flag.Bool("bench.full", false, "run the full benchmark (make bench) instead of the smoke sizes")
	outFile = flag.String("bench.out", "", "also write the summary tables (Markdown) to this file")
	logDir  = flag.String("bench.logs", "", "copy the controllers' logs into this directory")
	phases  = flag.String("bench.phases", "small,policy,scale,p2b-versions,render,p5", "comma-separated phases to run: small (P1, P2a, P6, P4, P2b at ~140), policy (P7), scale (P3; P1, P2a and P6 at scale; P2b at scale), "+
		"p2b-versions (P2b at both sizes with each HAProxy of -bench.p2b-versions), render, p5")
	p2bVersions = flag.String("bench.p2b-versions", os.Getenv("BENCH_P2B_VERSIONS"), "HAProxy release lines (\"3.4\": the main binary when it is of that line, "+
		"else $HAPROXY_CACHE/3.4/haproxy, which hack/haproxy/fetch.sh installs) or paths to binaries, separated by spaces or commas, "+
		"whose P2b is measured too (default $BENCH_P2B_VERSIONS; empty: that phase is skipped)")
)

func TestMain(m *testing.M) {
	flag.Parse()
	subnet := SmokeSubnet
	if *fullRun {
		subnet = FullSubnet
	}
	os.Exit(framework.Main(m, framework.Options{Subnet: subnet}, func(c *framework.Cluster) { cluster = c }))
}

// phase reports whether -bench.phases names p.
func phase(p string) bool {
	return slices.Contains(strings.Split(*phases, ","), p)
}

// sizes are the knobs that differ between `make bench` and the smoke run.
type sizes struct {
	Name         string
	Pool         int           // echo pods whose addresses the slices take turns on
	P1           int           // back-to-back endpoint swaps
	P1Scale      int           // the same with the scale controller
	P2aScale     int           // P2a with the scale controller
	P6Scale      int           // P6 with the scale controller
	ScaleBudget  time.Duration // time bound of each of those sets
	P2a          int           // new hosts to an existing backend
	P2b          int           // new hosts with a new Service, per scale
	Fillers      int           // Ingresses present for the small P2b
	Scale        int           // Ingresses/Services for P3 and the large P2b
	ScaleNS      int           // namespaces they spread over
	PerService   int           // endpoints per Service at scale
	Workers      int           // concurrent API writers for the bulk load
	P4           time.Duration // churn duration
	P4Churn      time.Duration // endpoint change period
	P4Reload     time.Duration // structural change period
	P4Workers    int           // clients per mode
	P6           int           // pure endpoint changes
	P7           int           // route policy value changes, per variant
	Steady       time.Duration // wait before reading steady RSS
	RenderBench  string        // sub-benchmark of BenchmarkModelAndRender
	RenderArgs   []string
	P5Hosts      int
	P5Echoes     int
	P5Rounds     int
	P5Turn       time.Duration
	P5Conns      int
	P5RequireWrk bool
}

var fullSizes = sizes{
	Name: "full", Pool: 8, P1: 200, P2a: 20, P2b: 20, Fillers: 100, Scale: 10000, ScaleNS: 50, PerService: 5, Workers: 16,
	P4: 60 * time.Second, P4Churn: 100 * time.Millisecond, P4Reload: 5 * time.Second, P4Workers: 2,
	P6: 1000, P7: 100, Steady: 10 * time.Second,
	P1Scale: 200, P2aScale: 20, P6Scale: 1000, ScaleBudget: time.Minute,
	RenderBench: "ingresses=10000", RenderArgs: []string{"-benchmem", "-count", "3"},
	P5Hosts: 50, P5Echoes: 10, P5Rounds: 9, P5Turn: 5 * time.Second, P5Conns: 50, P5RequireWrk: true,
}

var smokeSizes = sizes{
	Name: "smoke", Pool: 6, P1: 3, P2a: 2, P2b: 2, Fillers: 5, Scale: 30, ScaleNS: 3, PerService: 5, Workers: 4,
	P4: 3 * time.Second, P4Churn: 100 * time.Millisecond, P4Reload: time.Second, P4Workers: 1,
	P6: 5, P7: 4, Steady: time.Second,
	P1Scale: 3, P2aScale: 2, P6Scale: 5, ScaleBudget: 30 * time.Second,
	RenderBench: "ingresses=100", RenderArgs: []string{"-benchtime", "1x", "-count", "1"},
	P5Hosts: 5, P5Echoes: 3, P5Rounds: 1, P5Turn: time.Second, P5Conns: 4,
}
