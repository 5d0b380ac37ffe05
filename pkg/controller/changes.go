package controller

import (
	"maps"
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
	// full is set by a change the endpoint patch cannot follow;
	// staleServices by one after which the last model's Services may be
	// out of date (a Service or ConfigMap change, or markFull).
	full, staleServices bool
	services            map[string]bool // "namespace/name" of Services whose slices changed
	// ingresses are the Ingresses changed ("namespace/name"); notIngress
	// is set by a change other than theirs and the slices': when it is
	// not, new Ingresses may be added to the last model (ingresspatch.go).
	ingresses  map[string]bool
	notIngress bool
	// since holds, while tracking, the Services whose slices changed
	// after a background build read its snapshot (background.go).
	tracking bool
	since    map[string]bool
}

// pending is what take found in the log.
type pending struct {
	services []string // sorted
	// full: the model must be built from the whole snapshot. The
	// services may still be patched into the last model meanwhile when
	// patchable: no other change can make its Services out of date
	// (Ingresses, IngressClasses and Secrets do not: the patch reads only
	// Services and slices).
	full, patchable bool
	// noted is false for a take that found nothing (a retry or a timer).
	noted bool
	// ingresses, sorted, are set when full comes only from Ingress
	// changes: addIngresses may take them in without a full build.
	ingresses []string
}

// servicesStayCurrent reports whether the last model's Services are still
// current after a change of kind.
func servicesStayCurrent(kind string) bool {
	switch kind {
	case "Ingress", "IngressClass", "Secret", "AuthSecret":
		return true
	}
	return false
}

// maxPatchedServices is where a full build becomes the cheaper way: a
// patch reads the slices of each Service, a build reads everything once.
const maxPatchedServices = 500

// maxAddedIngresses is where a full build becomes the cheaper way: each
// model.AddIngress copies the routing maps (0.4 ms at 10k Ingresses).
const maxAddedIngresses = 50

// maxPatchAge bounds how long patches reuse a full build's options (its
// clock: certificate expiry warnings) under a stream of endpoint changes.
const maxPatchAge = 5 * time.Minute

func newChangeLog() *changeLog {
	return &changeLog{services: map[string]bool{}, since: map[string]bool{}, ingresses: map[string]bool{}}
}

func (l *changeLog) note(ch watch.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch.Kind != "EndpointSlice" {
		l.full = true
		l.staleServices = l.staleServices || !servicesStayCurrent(ch.Kind)
		if ch.Kind == "Ingress" {
			l.ingresses[ch.Namespace+"/"+ch.Name] = true
		}
		l.notIngress = l.notIngress || ch.Kind != "Ingress" || len(l.ingresses) > maxAddedIngresses
		return
	}
	// A relabelled slice is one Change for each of its two Services.
	if ch.Service != "" {
		key := ch.Namespace + "/" + ch.Service
		l.services[key] = true
		if l.tracking {
			l.since[key] = true
		}
	}
	if len(l.services) > maxPatchedServices {
		l.full, l.staleServices, l.notIngress = true, true, true
	}
}

// markFull makes the next build a full one.
func (l *changeLog) markFull() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full, l.staleServices, l.notIngress = true, true, true
}

// take returns what is pending and empties the log. Nothing noted at all
// (a retry or a timer) asks for a full build: the whole model is looked at
// again.
func (l *changeLog) take() pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := pending{full: l.full || len(l.services) == 0, patchable: !l.staleServices, noted: l.full || len(l.services) > 0}
	p.services = slices.Sorted(maps.Keys(l.services))
	if l.full && !l.notIngress {
		p.ingresses = slices.Sorted(maps.Keys(l.ingresses))
	}
	l.full, l.staleServices, l.notIngress = false, false, false
	clear(l.services)
	clear(l.ingresses)
	return p
}

// putBack notes again the full build that p asked for, for after the
// background build that runs now (its snapshot may predate p). Its
// Ingresses may be added to the build's model then: addIngresses finds
// those that its snapshot holds already, and builds in full.
func (l *changeLog) putBack(p pending) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full = l.full || p.full
	for _, key := range p.ingresses {
		l.ingresses[key] = true
	}
	l.notIngress = l.notIngress || (p.full && p.ingresses == nil) || len(l.ingresses) > maxAddedIngresses
	l.staleServices = l.staleServices || (p.full && !p.patchable)
}

// hasPending reports whether anything was noted since the last take.
func (l *changeLog) hasPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.full || len(l.services) > 0
}

// track starts collecting the Services whose slices change from now on;
// untrack stops and returns them.
func (l *changeLog) track() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tracking = true
	clear(l.since)
}

func (l *changeLog) untrack() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tracking = false
	out := slices.Sorted(maps.Keys(l.since))
	clear(l.since)
	return out
}

// noteChange records an informer change for the next build.
func (c *Controller) noteChange(ch watch.Change) { c.changes.note(ch) }

// patchModel patches the endpoints of the changed Services into the last
// model built. It reports false when the model has to be built in full.
func (c *Controller) patchModel() (*model.Snapshot, *model.Config, bool) {
	p := c.changes.take()
	if p.full || !c.builtIsFresh() {
		return nil, nil, false
	}
	snap, cfg := c.patchOnto(c.built, p.services)
	return snap, cfg, true
}

// builtIsFresh reports whether there is a last model to patch, from a full
// build that is not older than maxPatchAge.
func (c *Controller) builtIsFresh() bool {
	return c.built != nil && time.Since(c.built.builtAt) <= maxPatchAge
}

// patchOnto patches the endpoints of services into prev and makes the
// result the last model built.
func (c *Controller) patchOnto(prev *builtModel, services []string) (*model.Snapshot, *model.Config) {
	start := time.Now()
	p := model.PatchEndpoints(prev.cfg, c.serviceSlices(prev, services), prev.opts)
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
	return built.live, built.cfg
}

// serviceSlices is what PatchEndpoints reads for services: the slices
// the watcher has now, and the Services prev was built from.
func (c *Controller) serviceSlices(prev *builtModel, services []string) []model.ServiceSlices {
	changed := make([]model.ServiceSlices, 0, len(services))
	for _, key := range services {
		namespace, name, _ := strings.Cut(key, "/")
		changed = append(changed, model.ServiceSlices{Namespace: namespace, Name: name,
			Service: prev.service(key), Slices: c.watcher.ServiceSlices(namespace, name)})
	}
	return changed
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
