package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// hostileValues are strings that could end a quoted word, start a comment,
// a variable or a sample expression, or break a line of haproxy.cfg.
var hostileValues = []string{
	`a"b`, `a\b`, `a#b`, `${HOME}`, `"${HOME}"`, `a'b`, `%[src]`, "a\nb", "a\rb", "a\x00b", `a}b`, `a{b`,
	`a)b`, `a,b`, "é", strings.Repeat("x", 5000), `a b`, ` `, `*`, `..`, `1.2.3.4`, `-m reg .*`, `if TRUE`,
}

// TestGatewayHostileValues puts each hostile value in each user string of
// an HTTPRoute and its Gateway, each in an object of its own: the config
// HAProxy gets must pass `haproxy -c`, hold no value outside the checked
// character sets, and still serve the one valid route.
func TestGatewayHostileValues(t *testing.T) {
	snap := model.Snapshot{
		GatewayClasses: []*gatewayv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: gatewayv1.GatewayClassSpec{ControllerName: model.DefaultGatewayControllerName}}},
		Services: []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
	}
	listener := func(name, host string) gatewayv1.Listener {
		l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: 8080, Protocol: gatewayv1.HTTPProtocolType}
		if host != "" {
			l.Hostname = ptr.To(gatewayv1.Hostname(host))
		}
		return l
	}
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "c", Listeners: []gatewayv1.Listener{listener("ok", "")}}}
	snap.Gateways = append(snap.Gateways, gw)
	backend := []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
		Name: "web", Port: ptr.To(gatewayv1.PortNumber(80))}}}}
	parent := []gatewayv1.ParentReference{{Name: "gw"}}
	n := 0
	add := func(rule gatewayv1.HTTPRouteRule, hosts ...gatewayv1.Hostname) {
		n++
		if rule.BackendRefs == nil && (len(rule.Filters) == 0 || rule.Filters[0].Type != gatewayv1.HTTPRouteFilterRequestRedirect) {
			rule.BackendRefs = backend
		}
		snap.HTTPRoutes = append(snap.HTTPRoutes, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("r%d", n)},
			Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parent},
				Hostnames: hosts, Rules: []gatewayv1.HTTPRouteRule{rule}}})
	}
	for i, v := range hostileValues {
		gw.Spec.Listeners = append(gw.Spec.Listeners, listener(fmt.Sprintf("h%d", i), v))
		header := gatewayv1.HTTPHeader{Name: "x-h", Value: v}
		add(gatewayv1.HTTPRouteRule{}, gatewayv1.Hostname(v))
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To("/" + v)}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/" + v)}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{{Name: gatewayv1.HTTPHeaderName(v), Value: "x"}}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{{Name: "x-h", Value: v}}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: gatewayv1.HTTPHeaderName(v), Value: "x"}}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "q", Value: v}}}}})
		add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Method: ptr.To(gatewayv1.HTTPMethod(v))}}})
		add(gatewayv1.HTTPRouteRule{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{header}}}}})
		add(gatewayv1.HTTPRouteRule{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
			ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(v), Value: "x"}}, Remove: []string{v}}}}})
		add(gatewayv1.HTTPRouteRule{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect,
			RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{Hostname: ptr.To(gatewayv1.PreciseHostname(v))}}}})
		add(gatewayv1.HTTPRouteRule{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect,
			RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{Scheme: ptr.To(v)}}}})
		add(gatewayv1.HTTPRouteRule{Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterURLRewrite,
			URLRewrite: &gatewayv1.HTTPURLRewriteFilter{Hostname: ptr.To(gatewayv1.PreciseHostname(v)),
				Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To("/" + v)}}}}})
		add(gatewayv1.HTTPRouteRule{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(v), Namespace: ptr.To(gatewayv1.Namespace(v)), Port: ptr.To(gatewayv1.PortNumber(80))}}}}})
	}
	add(gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To("/valid")}}}}, "valid.example")

	opts := testOptions(t)
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.GatewayLoopback = true
	cfg, rejections := model.Build(snap, opts)
	if len(rejections) == 0 {
		t.Fatal("no Warning for any hostile value")
	}
	dir := t.TempDir()
	files, err := render.Render(&cfg, haproxytest.Options(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := haproxy.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	haproxytest.Check(t, dir)
	text, err := os.ReadFile(filepath.Join(dir, render.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	// Outside double quotes, a Gateway rule holds only what the renderer
	// wrote: no user value.
	quoted := regexp.MustCompile(`"[^"]*"`)
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.Contains(line, "txn.gw") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		bare := quoted.ReplaceAllString(line, `""`)
		for _, bad := range []string{"${", "'", "\\", "#", "%[src]", "-m reg .*", "if TRUE", "é", "a b", "a,b", "a)b", "a}b", "a{b"} {
			if strings.Contains(bare, bad) {
				t.Errorf("outside quotes, a config line holds %q: %.200s", bad, line)
			}
		}
		if strings.Count(line, `"`)%2 != 0 {
			t.Errorf("unbalanced quotes: %.200s", line)
		}
	}
	if !strings.Contains(string(text), `{ var(txn.gwhost) -m str "valid.example" } { path -m str "/valid" }`) {
		t.Error("the valid route is not served")
	}
}
