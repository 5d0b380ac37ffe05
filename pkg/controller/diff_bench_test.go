package controller

import (
	"fmt"
	"testing"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// BenchmarkDiffEndpointChange plans one endpoint change among 10,000
// backends: the diff runs on every sync, endpoint changes included.
func BenchmarkDiffEndpointChange(b *testing.B) {
	var snap model.Snapshot
	for i := range 10000 {
		svc := fmt.Sprintf("svc-%d", i)
		snap.Ingresses = append(snap.Ingresses, mt.Ingress("ns", svc, mt.Rule(fmt.Sprintf("h%d.example", i), mt.Path("Prefix", "/", svc, 80))))
		snap.Services = append(snap.Services, mt.Service("ns", svc, mt.ServicePort("http", 80)))
		snap.EndpointSlices = append(snap.EndpointSlices, mt.Slice("ns", svc, svc+"-1", "http", 8080, mt.Ready(fmt.Sprintf("10.%d.%d.1", i/200, i%200))))
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	have, _ := model.Build(snap, opts)
	snap.EndpointSlices[0] = mt.Slice("ns", "svc-0", "svc-0-1", "http", 8080, mt.Ready("10.250.0.1"))
	want, _ := model.Build(snap, opts)
	v, err := haproxy.ParseVersion("2.6.12")
	if err != nil {
		b.Fatal(err)
	}
	features := haproxy.FeaturesFor(v)
	r := newRunning(&have)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if u := r.diff(&want, relRefs{}, features); u.reload != "" || len(u.commands) == 0 {
			b.Fatalf("reload %q, %d commands", u.reload, len(u.commands))
		}
	}
}

// BenchmarkDiffNewHost plans the update for one new Ingress among 10,000
// (model.AddIngress): the patched diff, which compares the routing maps.
func BenchmarkDiffNewHost(b *testing.B) {
	var snap model.Snapshot
	for i := range 10000 {
		svc := fmt.Sprintf("svc-%d", i)
		snap.Ingresses = append(snap.Ingresses, mt.Ingress("ns", svc, mt.Rule(fmt.Sprintf("h%d.example", i),
			mt.Path("Prefix", "/", svc, 80), mt.Path("Exact", "/healthz", svc, 80))))
		snap.Services = append(snap.Services, mt.Service("ns", svc, mt.ServicePort("http", 80)))
		snap.EndpointSlices = append(snap.EndpointSlices, mt.Slice("ns", svc, svc+"-1", "http", 8080, mt.Ready(fmt.Sprintf("10.%d.%d.1", i/200, i%200))))
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("fallback")
	have, _ := model.Build(snap, opts)
	want, why := model.AddIngress(&have, mt.Ingress("ns", "new", mt.Rule("new.example", mt.Path("Prefix", "/", "svc-1", 80))), nil, opts)
	if why != "" {
		b.Fatal(why)
	}
	r := newRunning(&have)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if u := r.diffPatched(&want, nil, true, relRefs{}, haproxy.Features{}); u.reload != "" || len(u.commands) != 2 {
			b.Fatalf("reload %q, %d commands", u.reload, len(u.commands))
		}
	}
}
