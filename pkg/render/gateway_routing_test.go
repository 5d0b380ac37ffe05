package render_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/manifest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// TestGatewayRoutingThroughHAProxy proves, on the real HAProxy, a Gateway
// that shares the Ingress HTTP frontend: its rules come first, requests
// they do not match fall through to the Ingress routes, and each filter
// and backend choice acts on the requests of its rule only.
func TestGatewayRoutingThroughHAProxy(t *testing.T) {
	snap := routingFixture(t, "gw", "ing", "heavy", "never")
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	res, err := manifest.Load([]string{"-"}, strings.NewReader(fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: bollard}
spec: {controllerName: bollard.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: bollard
  listeners: [{name: http, port: %d, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [shared.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /gw}}]
    backendRefs: [{name: gw, port: 80}]
  - matches: [{path: {type: Exact, value: /gw/exact}}]
    backendRefs: [{name: heavy, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /weights}}]
    backendRefs: [{name: heavy, port: 80, weight: 1}, {name: never, port: 80, weight: 0}]
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: nowhere, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /moved}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: new.example, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /api/v1}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}]
    backendRefs: [{name: gw, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /strip}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ""}}}]
    backendRefs: [{name: gw, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /x}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /a/b/c}}}]
    backendRefs: [{name: gw, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /old/path}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
  - matches: [{path: {type: PathPrefix, value: /many}, headers: [%s]}]
    backendRefs: [{name: heavy, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-Pick, value: "gw please"}]}]
    backendRefs: [{name: gw, port: 80}]
`, ropts.HTTPPort, manyHeaders())))
	if err != nil {
		t.Fatal(err)
	}
	snap.GatewayClasses, snap.Gateways, snap.HTTPRoutes = res.Snapshot.GatewayClasses, res.Snapshot.Gateways, res.Snapshot.HTTPRoutes
	snap.Ingresses = append(snap.Ingresses, mt.Ingress("default", "ing", mt.Class(model.DefaultIngressClass),
		mt.Rule("shared.example", mt.Path("Prefix", "/", "ing", 80))))
	snap.IngressClasses = append(snap.IngressClasses, mt.IngressClass(model.DefaultIngressClass, model.DefaultControllerName, false))

	opts := testOptions(t)
	opts.EndpointCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.IngressHTTPPort, opts.IngressHTTPSPort = int32(ropts.HTTPPort), int32(ropts.HTTPSPort)
	cfg, _ := model.Build(snap, opts)
	if len(cfg.Gateways) != 1 || !cfg.Gateways[0].Shared {
		t.Fatalf("want one shared Gateway frontend, got %+v", cfg.Gateways)
	}
	files, err := render.Render(&cfg, ropts)
	if err != nil {
		t.Fatal(err)
	}
	h := haproxytest.Start(t, dir, files, ropts)

	cases := []struct {
		host, path, header string
		status             int
		body, location     string
	}{
		{host: "shared.example", path: "/gw", status: 200, body: "gw /gw"},
		{host: "shared.example", path: "/gw/x?q=1", status: 200, body: "gw /gw/x?q=1"},
		{host: "SHARED.example.", path: "/gw", status: 200, body: "gw /gw"}, // another form of the host
		{host: "shared.example", path: "//gw", status: 200, body: "gw /gw"}, // other forms of the path
		{host: "shared.example", path: "/./gw", status: 200, body: "gw /gw"},
		{host: "shared.example", path: "/x/../gw/a", status: 200, body: "gw /gw/a"},
		{host: "shared.example", path: "/%67w", status: 200, body: "gw /gw"},
		{host: "shared.example", path: "/gw%2Fexact", status: 400},
		{host: "shared.example", path: "/gw/exact", status: 200, body: "heavy /gw/exact"}, // Exact before the prefix
		{host: "shared.example", path: "/gwx", status: 200, body: "ing /gwx"},             // not an element prefix: the Ingress
		{host: "shared.example", path: "/other", status: 200, body: "ing /other"},
		{host: "shared.example", path: "/other", header: "gw please", status: 200, body: "gw /other"},
		{host: "shared.example", path: "/other", header: "gw Please", status: 200, body: "ing /other"},
		{host: "other.example", path: "/gw", status: 404},
		{host: "shared.example", path: "/missing/x", status: 500},
		{host: "shared.example", path: "/moved/a?b=c", status: 301, location: "http://new.example:%d/moved/a?b=c"},
		{host: "shared.example", path: "/api/v1/items", status: 200, body: "gw /v2/items"},
		{host: "shared.example", path: "/api/v1", status: 200, body: "gw /v2"},
		{host: "shared.example", path: "/api/v1/", status: 200, body: "gw /v2/"}, // the spec keeps the trailing slash
		{host: "shared.example", path: "/strip/a/b", status: 200, body: "gw /a/b"},
		{host: "shared.example", path: "/strip/", status: 200, body: "gw /"},
		{host: "shared.example", path: "/strip", status: 200, body: "gw /"},
		{host: "shared.example", path: "/x", status: 200, body: "gw /a/b/c"}, // a deeper replacement
		{host: "shared.example", path: "/x/y?z", status: 200, body: "gw /a/b/c/y?z"},
		{host: "shared.example", path: "/x/", status: 200, body: "gw /a/b/c/"},
		{host: "shared.example", path: "/old/path/p?q", status: 302, location: "http://shared.example:%d/new/p?q"},
		{host: "shared.example", path: "/old/path", status: 302, location: "http://shared.example:%d/new"},
	}
	for range 5 {
		cases = append(cases, struct {
			host, path, header string
			status             int
			body, location     string
		}{host: "shared.example", path: "/weights", status: 200, body: "heavy /weights"})
	}
	// Ten header matches are more conditions than one line may hold.
	for _, drop := range []int{-1, 9} {
		req, err := http.NewRequest(http.MethodGet, h.HTTP+"/many", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "shared.example"
		for i := range 10 {
			if i != drop {
				req.Header.Set(fmt.Sprintf("X-M%d", i), fmt.Sprintf("v%d", i))
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		want := "heavy /many"
		if drop >= 0 {
			want = "ing /many"
		}
		if string(buf[:n]) != want {
			t.Errorf("/many without header %d: %q, want %q", drop, buf[:n], want)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range cases {
		req, err := http.NewRequest(http.MethodGet, h.HTTP+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = c.host
		if c.header != "" {
			req.Header.Set("X-Pick", c.header)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		body.Write(buf[:n])
		resp.Body.Close()
		where := fmt.Sprintf("%s%s (X-Pick %q)", c.host, c.path, c.header)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%q)", where, resp.StatusCode, c.status, body.String())
			continue
		}
		if c.body != "" && body.String() != c.body {
			t.Errorf("%s: body %q, want %q", where, body.String(), c.body)
		}
		if c.location != "" {
			if want := fmt.Sprintf(c.location, ropts.HTTPPort); resp.Header.Get("Location") != want {
				t.Errorf("%s: Location %q, want %q", where, resp.Header.Get("Location"), want)
			}
		}
	}
}

func manyHeaders() string {
	var hs []string
	for i := range 10 {
		hs = append(hs, fmt.Sprintf("{name: X-M%d, value: v%d}", i, i))
	}
	return strings.Join(hs, ", ")
}
