package controller

import (
	"slices"
	"strings"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
)

// addIngresses takes the new Ingresses p noted into the last model with
// model.AddIngress, and patches in the endpoint changes p noted too. It
// reports false, having changed nothing, when one of them is not new to
// the model (an update or a delete), or not of the shape AddIngress takes:
// the pass builds in full then.
func (c *Controller) addIngresses(prev *builtModel, p pending) (*model.Snapshot, *model.Config, bool) {
	start := time.Now()
	if len(prev.kept) > 0 {
		return nil, nil, false // its snapshot holds last good versions: Build substitutes them again
	}
	noted := make(map[objectKey]bool, len(p.ingresses))
	for _, key := range p.ingresses {
		noted[splitKey(key)] = true
	}
	for _, ing := range prev.live.Ingresses {
		if noted[objectKey{ing.Namespace, ing.Name}] {
			return nil, nil, false
		}
	}
	cfg := *prev.cfg
	live := *prev.live
	live.Ingresses = slices.Clip(live.Ingresses) // appends copy: prev's snapshot stays as it was
	for _, key := range p.ingresses {
		namespace, name, _ := strings.Cut(key, "/")
		ing, ok := c.watcher.Ingress(namespace, name)
		if !ok {
			return nil, nil, false // deleted again
		}
		added, why := model.AddIngress(&cfg, ing, prev.snap.IngressClasses, prev.opts)
		if why != "" {
			c.log.Debug("new Ingress needs a full build", "ingress", key, "reason", why)
			return nil, nil, false
		}
		cfg = added
		live.Ingresses = append(live.Ingresses, ing)
	}
	rejections, reported := prev.rejections, prev.reported // AddIngress takes only Ingresses without any
	var patched []string
	if len(p.services) > 0 {
		ep := model.PatchEndpoints(&cfg, c.serviceSlices(prev, p.services), prev.opts)
		cfg, patched = ep.Config, ep.Backends
		rejections = model.ReplaceSliceRejections(rejections, &ep)
		reported = rejections
	}
	built := &builtModel{live: &live, snap: &live, cfg: &cfg, opts: prev.opts,
		rejections: rejections, reported: reported, reads: prev.reads, services: prev.services,
		base: prev.cfg, patched: patched, added: p.ingresses, from: prev.snap, addedTo: prev.live, builtAt: prev.builtAt}
	c.built = built
	c.metrics.modelDuration.WithLabelValues(modelIngress).Observe(time.Since(start).Seconds())
	c.reportRejections(built)
	return built.live, built.cfg, true
}

// objectKey is a namespace and a name: looking up 10k objects by it makes
// no "namespace/name" strings.
type objectKey struct{ namespace, name string }

func splitKey(key string) objectKey {
	namespace, name, _ := strings.Cut(key, "/")
	return objectKey{namespace, name}
}
