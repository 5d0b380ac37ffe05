package controller

import (
	"context"
	"net/http"
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

// An allow-list replaced by another of two CIDRs goes to the real HAProxy
// as map swaps, takes effect, and reads back as applied: the read-back of
// the swapped maps plans nothing more. Then the same the other way.
func TestAllowListSwapOnHAProxy(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a := haproxytest.NewBackend(t, "A")
	mopts := loopbackModelOptions(t)
	config := func(list string) model.Config {
		web := mt.Ingress("ns", "web", mt.Annotation("bollard.io/allow-list", list), mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))
		cfg, rej := model.Build(model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{web},
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", a.Port, mt.Ready(a.Host))},
		}, mopts)
		if len(rej) > 0 {
			t.Fatalf("rejections %v", rej)
		}
		return cfg
	}
	closed, open := config("10.0.0.0/8,10.1.0.0/16"), config("127.0.0.0/8,192.168.0.0/16")
	files, err := render.Render(&closed, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	from := newRunning(&closed)
	for _, step := range []struct {
		to     *model.Config
		status int
	}{{&open, http.StatusOK}, {&closed, http.StatusForbidden}} {
		u := from.diff(step.to, c, haproxy.Features{})
		if u.reload != "" || len(u.commands) != 4 {
			t.Fatalf("want a forward and a reverse swap of the two CIDR maps, got reload %q:\n%s", u.reload, commandLines(u))
		}
		for _, cmd := range u.commands {
			if _, _, ok := cmd.MapSwap(); !ok {
				t.Fatalf("%q is not a swap:\n%s", cmd, commandLines(u))
			}
		}
		if err := c.runtime.Execute(ctx, u.commands...); err != nil {
			t.Fatal(err)
		}
		if got := haproxytest.Get(t, inst.HTTP, "web.test", "/").Status; got != step.status {
			t.Fatalf("127.0.0.1 after the swap: %d, want %d", got, step.status)
		}
		from, err = c.readBack(ctx, &closed, files)
		if err != nil {
			t.Fatal(err)
		}
		if rest := from.diff(step.to, c, haproxy.Features{}); rest.reload != "" || len(rest.commands) != 0 {
			t.Fatalf("read back after the swaps: reload %q, commands:\n%s", rest.reload, commandLines(rest))
		}
	}
}
