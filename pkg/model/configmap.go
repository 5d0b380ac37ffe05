package model

import (
	"fmt"
	"strings"
	"time"
)

// Keys of the global ConfigMap that code outside the option table names.
const (
	ConfigSSLRedirect          = "ssl-redirect"
	ConfigTimeoutConnect       = "timeout-connect"
	ConfigTimeoutClient        = "timeout-client"
	ConfigTimeoutServer        = "timeout-server"
	ConfigTimeoutHTTPRequest   = "timeout-http-request"
	ConfigTimeoutHTTPKeepAlive = "timeout-http-keep-alive"
	ConfigTimeoutTunnel        = "timeout-tunnel"
)

const (
	minTimeout = time.Millisecond
	maxTimeout = 24 * time.Hour
)

// globalOptions reads the global ConfigMap: the global options, and the
// defaults of the backend options (b.configMapBackend). A bad value is
// reported and its default kept; the other keys still apply.
func (b *builder) globalOptions() Global {
	g := DefaultGlobal()
	ref := b.opts.GlobalConfigMap
	if ref == "" {
		return g
	}
	namespace, name, _ := strings.Cut(ref, "/")
	cm, ok := b.configMaps[namespace+"/"+name]
	if !ok {
		return g
	}
	for key, value := range cm.Data {
		field := fmt.Sprintf("data[%s]", printable(key))
		opt := b.optionIndex[key]
		if opt == nil || !opt.ConfigMap {
			b.reject("ConfigMap", namespace, name, field, "unknown option")
			continue
		}
		v, err := opt.parse(value)
		if err != nil {
			b.reject("ConfigMap", namespace, name, field, err.Error())
			continue
		}
		if opt.global != nil {
			opt.global(&g, v)
			continue
		}
		if b.configMapBackend == nil {
			b.configMapBackend = optionValues{}
		}
		b.configMapBackend[opt.Name] = v
	}
	return g
}
