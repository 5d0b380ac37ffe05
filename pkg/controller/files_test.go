package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// TestFileWriterWritesTheNewestOffer: a burst of offers is one write of
// the last one; an offer from before the loop's own write is dropped.
func TestFileWriterWritesTheNewestOffer(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	var configs []*model.Config
	for range 5 {
		configs = append(configs, build(t, baseSnapshot(web)))
	}
	var mu sync.Mutex
	var wrote []*model.Config
	gen := uint64(1)
	w := newFileWriter(render.NewRenderer(render.DefaultOptions()),
		func(files []render.File, cfg *model.Config, at uint64) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(files) == 0 {
				return false, errors.New("no files")
			}
			if at != gen {
				return false, nil
			}
			wrote = append(wrote, cfg)
			return true, nil
		}, func(err error) { t.Error(err) }, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx)
	for _, cfg := range configs {
		w.offer(cfg, gen)
		time.Sleep(time.Millisecond)
	}
	w.wait()
	mu.Lock()
	if len(wrote) != 1 || wrote[0] != configs[len(configs)-1] {
		t.Errorf("a burst of %d offers wrote %d configs; want the last one once", len(configs), len(wrote))
	}
	wrote = nil
	mu.Unlock()

	// The loop writes itself (a reload) after an offer: the offer is stale.
	w.offer(configs[0], gen)
	mu.Lock()
	gen++
	mu.Unlock()
	w.wait()
	w.offer(configs[1], gen)
	w.drop()
	w.wait()
	mu.Lock()
	defer mu.Unlock()
	if len(wrote) != 0 {
		t.Errorf("stale or dropped offers were written: %d", len(wrote))
	}
}
