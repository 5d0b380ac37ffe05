package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the controller's Prometheus metrics, in a registry of its
// own (no global state).
type metrics struct {
	registry       *prometheus.Registry
	reloads        *prometheus.CounterVec
	runtimeUpdates *prometheus.CounterVec
	syncDuration   prometheus.Histogram
	rejected       prometheus.Gauge
	lastApply      prometheus.Gauge
	checkFailures  prometheus.Counter
	haproxyUp      prometheus.Gauge
	resyncs        prometheus.Counter
	refused        prometheus.Gauge
	haproxyInfo    *prometheus.GaugeVec
	modelDuration  *prometheus.HistogramVec
	eventsSkipped  *prometheus.CounterVec
}

// How a sync's model was made (label path of bollard_model_duration_seconds).
const (
	modelFull  = "full"
	modelPatch = "patch"
	// modelIngress: new Ingresses added to the last model (ingresspatch.go).
	modelIngress = "ingress"
	// modelBackground labels only the log line of a pass that applied a
	// background build; its duration counts as "full".
	modelBackground = "background"
)

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bollard_reloads_total", Help: "HAProxy reloads by cause and result.",
		}, []string{"cause", "result"}),
		runtimeUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bollard_runtime_updates_total", Help: "Runtime API commands by kind (endpoint, map, certificate) and result; an atomic swap of a whole map counts as one map command.",
		}, []string{"kind", "result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bollard_sync_duration_seconds", Help: "Time to build, render and apply one sync.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		rejected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bollard_rejected_objects", Help: "Rejections (objects or fields left out) in the last sync.",
		}),
		lastApply: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bollard_last_apply_timestamp_seconds", Help: "Unix time of the last successful apply.",
		}),
		checkFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bollard_config_check_failures_total", Help: "Candidate configs that haproxy -c rejected.",
		}),
		haproxyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bollard_haproxy_info",
			Help: "1 for the running HAProxy's version and the version-dependent features Bollard uses on it.",
		}, []string{"version", "features"}),
		haproxyUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bollard_haproxy_up", Help: "1 when HAProxy's master answers.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bollard_resyncs_total", Help: "Times the running state was read back from HAProxy (restart, adoption, failed command).",
		}),
		modelDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bollard_model_duration_seconds", Help: "Time to make the model of one sync: a full build, or a patch of the endpoints of the Services whose EndpointSlices alone changed.",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2.5, 14),
		}, []string{"path"}),
		refused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bollard_refused_ingresses", Help: "Ingresses left out because HAProxy refused the config with them (haproxy -c).",
		}),
		eventsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bollard_events_skipped_total", Help: "Informer events that did not wake the apply loop (resyncs, status writes, changes of nothing the model reads, Secrets it does not use), by kind.",
		}, []string{"kind"}),
	}
	for _, kind := range []string{"Ingress", "IngressClass", "Service", "EndpointSlice", "Secret", "AuthSecret", "ConfigMap"} {
		m.eventsSkipped.WithLabelValues(kind) // exported at 0 from the start
	}
	m.registry.MustRegister(m.reloads, m.runtimeUpdates, m.syncDuration, m.rejected, m.lastApply, m.checkFailures, m.haproxyUp, m.resyncs, m.refused, m.haproxyInfo, m.modelDuration, m.eventsSkipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
