package render_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// scaleSnapshot makes n Ingresses, each with its own host and Service, and
// five ready endpoints per Service.
func scaleSnapshot(n int) model.Snapshot {
	var snap model.Snapshot
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("team-%d", i%50)
		svc := fmt.Sprintf("svc-%d", i)
		snap.Ingresses = append(snap.Ingresses, mt.Ingress(ns, fmt.Sprintf("ing-%d", i),
			mt.Rule(fmt.Sprintf("host-%d.example", i),
				mt.Path("Prefix", "/", svc, "http"),
				mt.Path("Exact", "/healthz", svc, "http"))))
		snap.Services = append(snap.Services, mt.Service(ns, svc, mt.ServicePort("http", 80)))
		var eps []mt.Endpoint
		for e := 0; e < 5; e++ {
			eps = append(eps, mt.Ready(fmt.Sprintf("10.%d.%d.%d", i/10000, (i/50)%200, 1+(i%50)*5+e)))
		}
		snap.EndpointSlices = append(snap.EndpointSlices, mt.Slice(ns, svc, svc+"-1", "http", 8080, eps...))
	}
	return snap
}

// BenchmarkModelAndRender measures the whole pure pipeline: model.Build
// plus render.Render of every file.
func BenchmarkModelAndRender(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("ingresses=%d", n), func(b *testing.B) {
			snap := scaleSnapshot(n)
			opts := model.DefaultOptions()
			opts.FallbackCertificate = fallbackPEM(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cfg, rejections := model.Build(snap, opts)
				if len(rejections) != 0 || len(cfg.Backends) != n {
					b.Fatalf("%d backends, rejections %v", len(cfg.Backends), rejections[:min(3, len(rejections))])
				}
				if _, err := render.Render(&cfg, render.DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScaleConfigIsValid renders the 1k case and runs haproxy -c on it, so
// the benchmark measures a config HAProxy accepts.
func TestScaleConfigIsValid(t *testing.T) {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallbackPEM(t)
	cfg, rejections := model.Build(scaleSnapshot(1000), opts)
	if len(rejections) != 0 {
		t.Fatal(rejections)
	}
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeAll(t, dir, files)
}

func writeAll(t *testing.T, dir string, files []render.File) {
	t.Helper()
	if err := haproxy.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	haproxytest.Check(t, dir)
}

func fallbackPEM(t testing.TB) []byte {
	t.Helper()
	pem, err := os.ReadFile("testdata/fallback.pem")
	if err != nil {
		t.Fatal(err)
	}
	return pem
}

// BenchmarkModelBuild measures model.Build alone: the controller builds the
// model on every change, endpoint changes included.
func BenchmarkModelBuild(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("ingresses=%d", n), func(b *testing.B) {
			snap := scaleSnapshot(n)
			opts := model.DefaultOptions()
			opts.FallbackCertificate = fallbackPEM(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if cfg, _ := model.Build(snap, opts); len(cfg.Backends) != n {
					b.Fatalf("%d backends", len(cfg.Backends))
				}
			}
		})
	}
}

// BenchmarkAddIngress measures model.AddIngress of one new host to an
// existing Service: what a new Ingress costs instead of a full Build.
func BenchmarkAddIngress(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("ingresses=%d", n), func(b *testing.B) {
			snap := scaleSnapshot(n)
			opts := model.DefaultOptions()
			opts.FallbackCertificate = fallbackPEM(b)
			cfg, _ := model.Build(snap, opts)
			ing := mt.Ingress("team-1", "new", mt.Rule("new.example", mt.Path("Prefix", "/", "svc-1", "http")))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if added, why := model.AddIngress(&cfg, ing, snap.IngressClasses, opts); why != "" || len(added.Served) != n+1 {
					b.Fatalf("declined: %s", why)
				}
			}
		})
	}
}

// BenchmarkPatchEndpoints measures model.PatchEndpoints of one Service's
// new endpoints: what an endpoint change costs instead of a full Build.
func BenchmarkPatchEndpoints(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("ingresses=%d", n), func(b *testing.B) {
			snap := scaleSnapshot(n)
			opts := model.DefaultOptions()
			opts.FallbackCertificate = fallbackPEM(b)
			cfg, _ := model.Build(snap, opts)
			svc := snap.Services[n/2]
			changes := make([][]model.ServiceSlices, 2)
			for i, addr := range []string{"10.250.0.1", "10.250.0.2"} {
				slice := mt.Slice(svc.Namespace, svc.Name, svc.Name+"-1", "http", 8080, mt.Ready(addr))
				changes[i] = []model.ServiceSlices{{Namespace: svc.Namespace, Name: svc.Name, Service: svc,
					Slices: []*discoveryv1.EndpointSlice{slice}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if p := model.PatchEndpoints(&cfg, changes[i%2], opts); len(p.Backends) != 1 {
					b.Fatalf("patched %v", p.Backends)
				}
			}
		})
	}
}
