package render_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestEveryBackendOptionPassesCheck renders backends that, together, set
// every backend option of the table to values at the edges of their forms
// (each protocol, both SNI kinds, each balance algorithm, the largest
// body size, 1ms and 24h timeouts) and runs the real haproxy -c on the
// files: the system's HAProxy, or $HAPROXY_BIN.
func TestEveryBackendOptionPassesCheck(t *testing.T) {
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caSecret := mt.TLSSecret("ns", "ca", ca.Pair.CertPEM, ca.Pair.KeyPEM)
	caSecret.Data["ca.crt"] = ca.Pair.CertPEM
	backends := []map[string]string{
		{"backend-protocol": "HTTPS", "backend-ca-secret": "ca", "backend-sni": "api.internal.example", "timeout-server": "24h",
			"timeout-connect": "1ms", "timeout-tunnel": "1ms", "load-balance": "leastconn", "health-check-path": "/h?x=%2F&y=(1)*;$@:",
			"health-check-interval": "1ms", "affinity": "cookie", "affinity-cookie-name": "a!$%&*+-.^_`|~Z", "proxy-body-size": "1048576g"},
		{"backend-protocol": "H2", "backend-ca-secret": "ca", "backend-sni": "host", "load-balance": "random", "timeout-server": "1ms", "timeout-tunnel": "24h"},
		{"backend-protocol": "GRPCS", "load-balance": "source", "health-check-interval": "24h", "proxy-body-size": "1"},
		{"backend-protocol": "GRPC", "load-balance": "uri", "affinity": "cookie", "timeout-connect": "24h"},
		{"backend-protocol": "H2C", "health-check-path": "/", "affinity": "cookie", "affinity-cookie-name": strings.Repeat("c", 64)},
		{"backend-protocol": "HTTP", "load-balance": "roundrobin", "affinity": "none", "proxy-body-size": "0"},
	}
	snap := model.Snapshot{Secrets: []*corev1.Secret{caSecret}}
	seen := map[string]bool{}
	for i, options := range backends {
		svc := string(rune('a' + i))
		ing := mt.Ingress("ns", svc, mt.Rule(svc+".example", mt.Path("Prefix", "/", svc, 80)))
		for name, value := range options {
			mt.Annotation(model.AnnotationPrefix+name, value)(ing)
			seen[name] = true
		}
		snap.Ingresses = append(snap.Ingresses, ing)
		snap.Services = append(snap.Services, mt.Service("ns", svc, mt.ServicePort("", 80)))
		snap.EndpointSlices = append(snap.EndpointSlices,
			mt.Slice("ns", svc, svc+"-1", "", 8443, mt.Ready("198.18.0."+string(rune('1'+i))), mt.Ready("198.18.1."+string(rune('1'+i)))))
	}
	for _, o := range model.OptionTable() {
		if o.Scope == model.ScopeBackend && !seen[o.Name] {
			t.Errorf("no backend sets %s", o.Name)
		}
	}
	cfg, rejections := model.Build(snap, testOptions(t))
	if len(rejections) != 0 {
		t.Fatalf("rejections: %v", rejections)
	}
	if len(cfg.Backends) != len(backends) || len(cfg.BackendCAs) != 1 {
		t.Fatalf("%d backends, %d CAs", len(cfg.Backends), len(cfg.BackendCAs))
	}
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	conf := string(fileData(t, files, render.ConfigFile))
	for _, want := range []string{
		"ssl verify required ca-file cas/" + cfg.BackendCAs[0].FileName + " sni str(api.internal.example)",
		"sni req.hdr(host),field(1,:) alpn h2", "ssl verify none alpn h2", "proto h2",
		"timeout connect 1ms", "timeout connect 86400000ms", "http-check send meth GET uri /h?x=%2F&y=(1)*;$@:",
		"cookie a!$%&*+-.^_`|~Z dynamic", "cookie " + strings.Repeat("c", 64) + " dynamic", "check inter 1ms", "check inter 86400000ms",
		"balance leastconn", "balance random", "balance source", "balance uri",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	for path, want := range map[string]string{
		"maps/timeout-server.map": "ns_a_80 86400000\nns_b_80 1\n",
		"maps/timeout-tunnel.map": "ns_a_80 1\nns_b_80 86400000\n",
		"maps/body-size.map":      "ns_a_80 1125899906842624\nns_c_80 1\n",
	} {
		if got := string(fileData(t, files, path)); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
		}
	}
	writeAll(t, t.TempDir(), files)
}
