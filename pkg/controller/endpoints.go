package controller

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveEndpoints starts the health and metrics listeners until ctx ends.
func (c *Controller) serveEndpoints(ctx context.Context) {
	health := http.NewServeMux()
	health.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := c.haproxyAlive(r.Context()); err != nil {
			http.Error(w, "haproxy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	health.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.ready.Load() {
			http.Error(w, "first config not applied yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	metricsHandler := promhttp.HandlerFor(c.metrics.registry, promhttp.HandlerOpts{})
	if c.opts.MetricsAddress == c.opts.HealthAddress {
		health.Handle("/metrics", metricsHandler)
	} else {
		mux := http.NewServeMux()
		mux.Handle("/metrics", metricsHandler)
		c.listen(ctx, "metrics", c.opts.MetricsAddress, mux)
	}
	c.listen(ctx, "health", c.opts.HealthAddress, health)
}

func (c *Controller) listen(ctx context.Context, name, addr string, h http.Handler) {
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("listener failed", "name", name, "address", addr, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
}

// haproxyAlive is true when HAProxy's master answers (and, in managed
// mode, the supervised process runs).
func (c *Controller) haproxyAlive(ctx context.Context) error {
	if sup := c.supervisor.Load(); sup != nil && !sup.Healthy() {
		c.metrics.haproxyUp.Set(0)
		return errors.New("the managed HAProxy is not running")
	}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.master.Ping(pingCtx); err != nil {
		c.metrics.haproxyUp.Set(0)
		return err
	}
	c.metrics.haproxyUp.Set(1)
	return nil
}
