package render_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// TestRendererFollowsItsInputs: a Renderer that keeps its base sections
// renders exactly what the stateless Render does, whichever of the base's
// inputs changes between calls.
func TestRendererFollowsItsInputs(t *testing.T) {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallbackPEM(t)
	cfg, _ := model.Build(scaleSnapshot(3), opts)
	ro := render.DefaultOptions()
	r := render.NewRenderer(ro)
	check := func(step string) {
		t.Helper()
		got, err := r.Render(&cfg)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		want, err := render.Render(&cfg, ro)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d files, want %d", step, len(got), len(want))
		}
		for i := range want {
			if got[i].Path != want[i].Path || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Errorf("%s: %s differs from a fresh render", step, want[i].Path)
			}
		}
	}
	check("first")
	check("same again")
	cfg.DefaultBackend = cfg.Backends[0].Name
	check("new default backend")
	cfg.Global.Timeouts.Client = 7 * time.Second
	check("new client timeout")
	cfg.Backends = cfg.Backends[:1]
	check("fewer backends")
	cfg.DefaultBackend, cfg.Global.Timeouts.Client = "", 60*time.Second
	check("back to the first inputs")
}
