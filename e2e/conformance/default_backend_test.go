package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

const onlyDefaultBackend = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: default-only}
spec:
  ingressClassName: bollard
  defaultBackend: {service: {name: dflt, port: {number: 80}}}
`

func TestDefaultBackendServesEveryHostAndPath(t *testing.T) {
	record(t, "default backend", "an Ingress with only spec.defaultBackend serves any host and path")
	ns, b := cluster.Setup(t, "conf-default")
	cluster.Echo(t, ns, "dflt", 1)
	cluster.MustApply(t, ns, onlyDefaultBackend)
	// The path arrives as sent, in its normal form: an escaped unreserved
	// character is decoded before routing (architecture.md, Normalisation).
	for _, hp := range [][3]string{{"a.example", "/", "/"}, {"b.example", "/x/y/z", "/x/y/z"}, {"", "/?q=1", "/?q=1"}, {"C.EXAMPLE:1234", "/%41", "/A"}} {
		e := expectService(t, b, hp[0], hp[1], "dflt")
		if e.Path != hp[2] {
			t.Errorf("path %q arrived as %q, want %q", hp[1], e.Path, hp[2])
		}
	}
}

func TestMethodsPathAndBodyPassThrough(t *testing.T) {
	record(t, "default backend", "GET, POST, PUT, DELETE and PATCH pass with method, raw path and body intact")
	ns, b := cluster.Setup(t, "conf-methods")
	cluster.Echo(t, ns, "dflt", 1)
	cluster.MustApply(t, ns, onlyDefaultBackend)
	expectService(t, b, "m.example", "/", "dflt")
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		// %3F stays escaped; %2F would get 400 (an ambiguous encoded slash).
		req := b.Request("m.example", "/a/%3F/b;c?x=1&y=%20")
		req.Method = method
		if method != http.MethodGet {
			req.Body = "payload of " + method
		}
		resp, err := framework.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		e, err := resp.Echo()
		if err != nil {
			t.Fatal(err)
		}
		if e.Method != method || e.Path != req.Path || e.Body != req.Body {
			t.Errorf("%s: backend saw method %q path %q body %q", method, e.Method, e.Path, e.Body)
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	record(t, "default backend", "responses carry Content-Length or chunked, Content-Type, Date and Server")
	ns, b := cluster.Setup(t, "conf-headers")
	cluster.Echo(t, ns, "dflt", 1)
	cluster.MustApply(t, ns, onlyDefaultBackend)
	expectService(t, b, "h.example", "/", "dflt")
	resp, err := framework.Do(context.Background(), b.Request("h.example", "/"))
	if err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	if h.Get("Content-Length") == "" && !strings.Contains(strings.Join(h.Values("Transfer-Encoding"), ","), "chunked") && len(resp.Body) == 0 {
		t.Errorf("no Content-Length or chunked body: %v", h)
	}
	for _, name := range []string{"Content-Type", "Date", "Server"} {
		if h.Get(name) == "" {
			t.Errorf("missing %s: %v", name, h)
		}
	}
}
