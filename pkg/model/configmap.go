package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Keys of the global ConfigMap.
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

// globalOptions reads the global ConfigMap. A bad value is reported and
// its default kept; the other keys still apply.
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
	timeouts := map[string]*time.Duration{
		ConfigTimeoutConnect:       &g.Timeouts.Connect,
		ConfigTimeoutClient:        &g.Timeouts.Client,
		ConfigTimeoutServer:        &g.Timeouts.Server,
		ConfigTimeoutHTTPRequest:   &g.Timeouts.HTTPRequest,
		ConfigTimeoutHTTPKeepAlive: &g.Timeouts.HTTPKeepAlive,
		ConfigTimeoutTunnel:        &g.Timeouts.Tunnel,
	}
	for key, value := range cm.Data {
		field := fmt.Sprintf("data[%s]", printable(key))
		if key == ConfigSSLRedirect {
			v, err := strconv.ParseBool(value)
			if err != nil {
				b.reject("ConfigMap", namespace, name, field, fmt.Sprintf("value %s is not a boolean", printable(value)))
				continue
			}
			g.SSLRedirect = v
			continue
		}
		target, known := timeouts[key]
		if !known {
			b.reject("ConfigMap", namespace, name, field, "unknown option")
			continue
		}
		d, err := time.ParseDuration(value)
		if err != nil || d < minTimeout || d > maxTimeout || d%time.Millisecond != 0 {
			b.reject("ConfigMap", namespace, name, field, fmt.Sprintf("value %s is not a duration between 1ms and 24h in whole milliseconds (such as 30s)", printable(value)))
			continue
		}
		*target = d
	}
	return g
}
