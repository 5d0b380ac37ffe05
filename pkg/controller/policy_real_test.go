package controller

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// A policy change whose runtime batch fails half way converges on the real
// HAProxy from what HAProxy holds: the read-back reads the policy maps, the
// next sync sends only what is left, and the request is then decided by
// the new policy. The header value is as long as an annotation may be and
// made of what the runtime CLI and haproxy.cfg read specially, so its
// encoded form is the longest command a policy value gives.
func TestPolicyMapsConvergeFromWhatHAProxyHas(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a := haproxytest.NewBackend(t, "A")
	mopts := loopbackModelOptions(t)
	value := strings.Repeat(`%;"# \`, (model.MaxAnnotationLength-len("X-Policy: "))/6)
	value = strings.TrimSpace(value)
	snapshot := func(annotations map[string]string) model.Snapshot {
		web := mt.Ingress("ns", "web", mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))
		for k, v := range annotations {
			mt.Annotation(k, v)(web)
		}
		return model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{web},
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", a.Port, mt.Ready(a.Host))},
		}
	}
	loaded, rej := model.Build(snapshot(map[string]string{"bollard.io/allow-list": "10.0.0.0/8", "bollard.io/response-set-headers": "X-Policy: v1"}), mopts)
	wanted, rej2 := model.Build(snapshot(map[string]string{"bollard.io/allow-list": "127.0.0.0/8", "bollard.io/response-set-headers": "X-Policy: " + value}), mopts)
	if len(rej)+len(rej2) > 0 {
		t.Fatalf("rejections %v %v", rej, rej2)
	}
	files, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if got := haproxytest.Get(t, inst.HTTP, "web.test", "/").Status; got != http.StatusForbidden {
		t.Fatalf("127.0.0.1 outside the loaded allow-list: %d, want 403", got)
	}
	u := newRunning(&loaded).diff(&wanted, c, haproxy.Features{})
	if u.reload != "" || len(u.commands) < 3 {
		t.Fatalf("want runtime map commands, got reload %q:\n%s", u.reload, commandLines(u))
	}
	if err := c.runtime.Execute(ctx, u.commands[:1]...); err != nil {
		t.Fatal(err)
	}
	r, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	next := r.diff(&wanted, c, haproxy.Features{})
	if next.reload != "" || len(next.commands) != len(u.commands)-1 {
		t.Fatalf("planned from HAProxy's state: want the %d commands left, got reload %q:\n%s", len(u.commands)-1, next.reload, commandLines(next))
	}
	if err := c.runtime.Execute(ctx, next.commands...); err != nil {
		t.Fatalf("the sync planned from HAProxy's state failed: %v\n%s", err, commandLines(next))
	}
	again, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	if rest := again.diff(&wanted, c, haproxy.Features{}); rest.reload != "" || len(rest.commands) != 0 {
		t.Errorf("not converged: reload %q, commands:\n%s", rest.reload, commandLines(rest))
	}
	got := haproxytest.Get(t, inst.HTTP, "web.test", "/")
	if got.Status != http.StatusOK || got.Header.Get("X-Policy") != value {
		t.Errorf("after the change: %d, X-Policy %q (%d bytes), want 200 and the %d-byte value", got.Status, got.Header.Get("X-Policy"), len(got.Header.Get("X-Policy")), len(value))
	}
	// Another spelling of the request is decided by the same policy.
	if got := haproxytest.Get(t, inst.HTTP, "WEB.test.", "//x/../y"); got.Status != http.StatusOK || got.Header.Get("X-Policy") != value {
		t.Errorf("another spelling: %d, X-Policy of %d bytes", got.Status, len(got.Header.Get("X-Policy")))
	}
}
