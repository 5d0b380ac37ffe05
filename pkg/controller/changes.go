package controller

import (
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/watch"
)

// changeLog collects what changed since the apply loop last built the
// model: informer goroutines note, the loop takes. When only EndpointSlices
// changed, the loop patches the endpoints of their Services into the last
// model instead of building it again (model.PatchEndpoints).
type changeLog struct {
	mu sync.Mutex
	// full is set by a change the endpoint patch cannot follow.
	full     bool
	services map[string]bool // "namespace/name" of Services whose slices changed
}

// maxPatchedServices is where a full build becomes the cheaper way: a
// patch reads the slices of each Service, a build reads everything once.
const maxPatchedServices = 500

// maxPatchAge bounds how long patches reuse a full build's options (its
// clock: certificate expiry warnings) under a stream of endpoint changes.
const maxPatchAge = 5 * time.Minute

func newChangeLog() *changeLog { return &changeLog{services: map[string]bool{}} }

func (l *changeLog) note(ch watch.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch.Kind != "EndpointSlice" {
		l.full = true
		return
	}
	// A relabelled slice is one Change for each of its two Services.
	if ch.Service != "" {
		l.services[ch.Namespace+"/"+ch.Service] = true
	}
	if len(l.services) > maxPatchedServices {
		l.full = true
	}
}

// markFull makes the next build a full one.
func (l *changeLog) markFull() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full = true
}

// take returns the Services to patch and empties the log. patch is false
// when the model must be built in full (a change of another kind, or none
// noted: a retry or a timer wants the whole model looked at again).
func (l *changeLog) take() (services []string, patch bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	full := l.full || len(l.services) == 0
	if !full {
		services = make([]string, 0, len(l.services))
		for key := range l.services {
			services = append(services, key)
		}
		slices.Sort(services)
	}
	l.full = false
	clear(l.services)
	return services, !full
}

// noteChange records an informer change for the next build.
func (c *Controller) noteChange(ch watch.Change) { c.changes.note(ch) }

// patchModel patches the endpoints of the changed Services into the last
// model built. It reports false when the model has to be built in full.
func (c *Controller) patchModel() (*model.Snapshot, *model.Config, bool) {
	services, ok := c.changes.take()
	prev := c.built
	if !ok || prev == nil || time.Since(prev.builtAt) > maxPatchAge {
		return nil, nil, false
	}
	start := time.Now()
	changed := make([]model.ServiceSlices, 0, len(services))
	for _, key := range services {
		namespace, name, _ := strings.Cut(key, "/")
		changed = append(changed, model.ServiceSlices{Namespace: namespace, Name: name,
			Service: prev.service(key), Slices: c.watcher.ServiceSlices(namespace, name)})
	}
	p := model.PatchEndpoints(prev.cfg, changed, prev.opts)
	rejections := model.ReplaceSliceRejections(prev.rejections, &p)
	reported := rejections // the same list unless last good versions were kept
	if len(prev.kept) > 0 {
		reported = model.ReplaceSliceRejections(prev.reported, &p)
	}
	built := &builtModel{live: prev.live, snap: prev.snap, cfg: &p.Config, opts: prev.opts, kept: prev.kept,
		rejections: rejections, reported: reported, reads: prev.reads,
		services: prev.services, base: prev.cfg, patched: p.Backends, builtAt: prev.builtAt}
	c.built = built
	c.metrics.modelDuration.WithLabelValues(modelPatch).Observe(time.Since(start).Seconds())
	c.reportRejections(built)
	return built.live, built.cfg, true
}

// service returns the Service the model was built from ("namespace/name"),
// nil when it had none. The index is made on first use (buildFull makes
// it) and shared by the models patched from this one, which all have the
// same Services.
func (b *builtModel) service(key string) *corev1.Service {
	if b.services == nil {
		index := make(map[string]*corev1.Service, len(b.snap.Services))
		for _, s := range b.snap.Services {
			index[s.Namespace+"/"+s.Name] = s
		}
		b.services = &index
	}
	return (*b.services)[key]
}
