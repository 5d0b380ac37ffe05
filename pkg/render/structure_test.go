package render_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// The structure hash in maps/epoch.map ignores what the runtime API
// changes (slot addresses) and follows everything a reload must load.
func TestStructureHash(t *testing.T) {
	fallback := fallbackPEM(t)
	base := func() *model.Config {
		return &model.Config{
			DefaultCertificate: fallback,
			Global:             model.DefaultGlobal(),
			Backends: []*model.Backend{{Name: "ns_web_80", Namespace: "ns", Service: "web", Port: "80", Slots: 8,
				Endpoints: []model.Endpoint{{Address: netip.MustParseAddr("198.18.0.10"), Port: 8080}}}},
		}
	}
	hashOf := func(cfg *model.Config) string {
		t.Helper()
		files, err := render.Render(cfg, render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		var main, epoch string
		for _, f := range files {
			switch f.Path {
			case render.ConfigFile:
				main = string(f.Data)
			case render.EpochMap:
				epoch = string(f.Data)
			}
		}
		h := render.StructureHash([]byte(main))
		if epoch != render.ConfigHashKey+" "+h+"\n" {
			t.Fatalf("epoch.map %q does not carry the hash %s", epoch, h)
		}
		return h
	}
	want := hashOf(base())

	moved := base()
	moved.Backends[0].Endpoints = []model.Endpoint{
		{Address: netip.MustParseAddr("198.18.0.11"), Port: 8080},
		{Address: netip.MustParseAddr("198.18.0.12"), Port: 8080, Draining: true},
		{}, // a free slot between used ones
		{Address: netip.MustParseAddr("198.18.0.13"), Port: 8080},
	}
	if got := hashOf(moved); got != want {
		t.Errorf("endpoints moved: hash %s, want %s", got, want)
	}
	for name, change := range map[string]func(*model.Config){
		"more slots":      func(c *model.Config) { c.Backends[0].Slots = 16 },
		"server timeout":  func(c *model.Config) { c.Global.Timeouts.Server = time.Minute + time.Second },
		"default backend": func(c *model.Config) { c.DefaultBackend = "ns_web_80" },
		"new backend": func(c *model.Config) {
			c.Backends = append(c.Backends, &model.Backend{Name: "ns_web_81", Namespace: "ns", Service: "web", Port: "81", Slots: 8})
		},
	} {
		cfg := base()
		change(cfg)
		if got := hashOf(cfg); got == want {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	if strings.Contains(want, " ") || len(want) != 32 {
		t.Errorf("hash %q is not 32 hex digits", want)
	}
}

// BenchmarkStructureHash: the hash runs on every render.
func BenchmarkStructureHash(b *testing.B) {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallbackPEM(b)
	cfg, _ := model.Build(scaleSnapshot(10000), opts)
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	var main []byte
	for _, f := range files {
		if f.Path == render.ConfigFile {
			main = f.Data
		}
	}
	b.SetBytes(int64(len(main)))
	b.ReportAllocs()
	for b.Loop() {
		render.StructureHash(main)
	}
}
