package controller

import (
	"context"
	"log/slog"
	"strings"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// detectFeatures reads the running HAProxy's version and decides what the
// controller uses on it (haproxy.FeaturesFor). It runs at start and after
// every restart of HAProxy, which may be another version (a new image).
// When the version cannot be read the 2.6 behaviour stays, and the next
// sync asks again.
func (c *Controller) detectFeatures(ctx context.Context) {
	v, err := c.runtime.Version(ctx)
	if err != nil {
		// Logged once until it answers: the next syncs ask again.
		level := slog.LevelWarn
		if c.versionUnread {
			level = slog.LevelDebug
		}
		c.versionUnread = true
		c.log.Log(ctx, level, "cannot read HAProxy's version; using the HAProxy 2.6 behaviour until it answers", "err", err)
		c.features, c.featuresRead = haproxy.Features{}, false
		c.master.UseFeatures(c.features)
		return
	}
	c.versionUnread = false
	f := haproxy.FeaturesFor(v)
	if !f.Known {
		c.log.Warn("HAProxy version not tested with Bollard; using the HAProxy 2.6 behaviour",
			"version", v.String(), "tested", strings.Join(haproxy.TestedLines(), ", "))
	}
	if f != c.features || !c.featuresRead {
		c.log.Info("HAProxy version", "version", v.String(), "features", strings.Join(f.List(), ","))
	}
	c.features, c.featuresRead = f, true
	c.master.UseFeatures(f)
	c.metrics.haproxyInfo.Reset()
	c.metrics.haproxyInfo.WithLabelValues(v.String(), strings.Join(f.List(), ",")).Set(1)
}

// markStructure tells HAProxy that the files on disk describe its sections
// again, after backends were created or deleted at run time: the hash in
// its copy of maps/epoch.map is what a later controller compares with the
// files to adopt it without a reload.
func (c *Controller) markStructure(ctx context.Context, files []render.File, cfg *model.Config) {
	h := configHashOf(files)
	if h == "" || h == c.loadedHash || c.running == nil || !c.running.sameStructure(cfg) {
		return
	}
	cmd, err := haproxy.SetMap(c.mapRef(render.EpochMap), render.ConfigHashKey, h)
	if err == nil {
		err = c.runtime.Execute(ctx, cmd)
	}
	if err != nil {
		c.log.Warn("could not record the config hash in HAProxy; a restarted controller will reload", "err", err)
		return
	}
	c.loadedHash = h
}
