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

// TestFileWriterWaitsAgainAfterAWrite: an offer made while a write runs
// waits for a quiet period of its own, counted from that offer, not from
// the offer the write took: under a stream of offers the writer otherwise
// rendered back to back once the first offer was maxLag old.
func TestFileWriterWaitsAgainAfterAWrite(t *testing.T) {
	web := mt.Ingress("ns", "web", mt.Rule("web.example", mt.Path("Prefix", "/", "web", 80)))
	first, second := build(t, baseSnapshot(web)), build(t, baseSnapshot(web))
	release := make(chan struct{})
	writing := make(chan struct{}, 2)
	var mu sync.Mutex
	wroteAt := map[*model.Config]time.Time{}
	w := newFileWriter(render.NewRenderer(render.DefaultOptions()),
		func(_ []render.File, cfg *model.Config, _ uint64) (bool, error) {
			writing <- struct{}{}
			if cfg == first {
				<-release
			}
			mu.Lock()
			defer mu.Unlock()
			wroteAt[cfg] = time.Now()
			return true, nil
		}, func(err error) { t.Error(err) }, slog.New(slog.DiscardHandler))
	w.quiet, w.maxLag = 200*time.Millisecond, 300*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx)
	w.offer(first, 0)
	<-writing                // the first write runs and blocks
	time.Sleep(2 * w.maxLag) // the first offer is older than maxLag now
	w.offer(second, 0)
	released := time.Now()
	close(release)
	w.wait()
	mu.Lock()
	defer mu.Unlock()
	at, ok := wroteAt[second]
	if !ok {
		t.Fatal("the offer made during a write was never written")
	}
	if waited := at.Sub(released); waited < w.quiet/2 {
		t.Errorf("the offer made during a write was written %v after the write ended; want a quiet period (%v) first", waited, w.quiet)
	}
}
