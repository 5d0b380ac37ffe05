package hostile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// layer says which layer stops a hostile object, or what happens to it.
type layer string

const (
	// byAPIServer: the API server refuses the object. The case also runs
	// the model on the same object in process (defence in depth); the
	// model's own cases are in pkg/model/hostile_test.go.
	byAPIServer layer = "API server refuses it; the model refuses it too"
	// leftOut: Bollard leaves the object (or the broken part) out, with a
	// Warning Event that names the field and the reason.
	leftOut layer = "Bollard leaves it out, Warning Event"
	// designed: served as designed, with a Warning Event (a missing Service
	// answers 503, an expired certificate is still served).
	designed layer = "served as designed, Warning Event"
	// harmless: accepted and served; nothing of it reaches a file raw.
	harmless layer = "served safely (sanitized or literal)"
	// unwatched: in a namespace Bollard does not watch: never seen.
	unwatched layer = "not watched: ignored, no Event"
)

// hostileCase is one hostile object (or a few) applied next to the healthy
// Ingress.
type hostileCase struct {
	class, name string
	layer       layer
	objects     func(name string) []any
	// The Event: on kind/object (default Ingress/name), naming field and
	// holding reason. modelField is the model's field when it differs.
	kind, object       string
	field, reason      string
	modelField         string
	payload            []string
	probe              func(ctx context.Context, e *env, c *hostileCase) error
	namespace          func(e *env) string // default e.ns
	wantNoWarningEvent bool
}

func (c *hostileCase) host() string { return c.name + ".hostile.example" }

func ingress(name, host string, paths ...networkingv1.HTTPIngressPath) *networkingv1.Ingress {
	return mt.Ingress("", name, mt.Rule(host, paths...))
}

func webPath(pathType, path string) networkingv1.HTTPIngressPath {
	return mt.Path(pathType, path, "web", 80)
}

// pathCase is an Ingress whose only path is hostile.
func pathCase(class, name, pathType, path, reason string, payload ...string) hostileCase {
	return hostileCase{class: class, name: name, layer: leftOut,
		objects: func(n string) []any { return []any{ingress(n, n+".hostile.example", webPath(pathType, path))} },
		field:   "spec.rules[0].http.paths[0].path", reason: reason, payload: payload}
}

// annotationCase is an Ingress with one hostile annotation.
func annotationCase(class, name, key, value, reason string, payload ...string) hostileCase {
	return hostileCase{class: class, name: name, layer: leftOut,
		objects: func(n string) []any {
			ing := ingress(n, n+".hostile.example", webPath("Prefix", "/"))
			ing.Annotations = map[string]string{key: value}
			return []any{ing}
		},
		field: fmt.Sprintf("metadata.annotations[%q]", key), reason: reason, payload: payload}
}

// hostCase is an Ingress whose host is hostile; the API server refuses it.
func hostCase(class, name, host string) hostileCase {
	return hostileCase{class: class, name: name, layer: byAPIServer,
		objects: func(n string) []any { return []any{ingress(n, host, webPath("Prefix", "/"))} },
		field:   "spec.rules[0].host"}
}

const notInPath = "not allowed in a path"

func ingressCases() []hostileCase {
	manyPaths := func(n string) []any {
		var paths []networkingv1.HTTPIngressPath
		for i := 0; i <= model.MaxPathsPerIngress; i++ {
			paths = append(paths, webPath("Exact", fmt.Sprintf("/p%d", i)))
		}
		return []any{ingress(n, n+".hostile.example", paths...)}
	}
	long := func(n int) string { // n bytes: three labels of 63 and one of n-192
		return strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", n-192)
	}
	cases := []hostileCase{
		pathCase("control character in path", "path-lf", "Prefix", "/pwn-lf\nhttp-request deny deny_status 418", notInPath, "pwn-lf", "deny_status 418"),
		pathCase("control character in path", "path-cr", "Exact", "/pwn-cr\rbackend x", notInPath, "pwn-cr"),
		pathCase("control character in path", "path-nul", "ImplementationSpecific", "/pwn-nul\x00x", notInPath, "pwn-nul"),
		pathCase("control character in path", "path-esc", "Prefix", "/pwn-esc\x1b[2J", notInPath, "pwn-esc"),
		pathCase("control character in path", "path-del", "Prefix", "/pwn-del\x7f", notInPath, "pwn-del"),
		pathCase("whitespace, #, quote, backslash in path", "path-space", "Prefix", "/pwn-space x", notInPath, "pwn-space"),
		pathCase("whitespace, #, quote, backslash in path", "path-tab", "Prefix", "/pwn-tab\tx", notInPath, "pwn-tab"),
		pathCase("whitespace, #, quote, backslash in path", "path-hash", "Prefix", "/pwn-hash#x", notInPath, "pwn-hash"),
		pathCase("whitespace, #, quote, backslash in path", "path-dquote", "Prefix", `/pwn-dq"x`, notInPath, "pwn-dq"),
		pathCase("whitespace, #, quote, backslash in path", "path-squote", "Exact", "/pwn-sq'x", notInPath, "pwn-sq"),
		pathCase("whitespace, #, quote, backslash in path", "path-backslash", "Prefix", `/pwn-bs\x`, notInPath, "pwn-bs"),
		pathCase("${VAR}, %[...], %[env(...)]", "path-env-var", "Prefix", "/pwn-${HOME}", notInPath, "${HOME}"),
		pathCase("${VAR}, %[...], %[env(...)]", "path-fetch", "Prefix", "/pwn-%[src]", "two hex digits", "%[src]"),
		pathCase("${VAR}, %[...], %[env(...)]", "path-env-fetch", "Exact", "/pwn-%[env(HOME)]", "two hex digits", "%[env(HOME)]"),
		annotationCase("${VAR}, %[...], %[env(...)]", "annotation-env-var", model.AnnotationSSLRedirect, "${HOME}", "not a boolean", "${HOME}"),
		annotationCase("${VAR}, %[...], %[env(...)]", "annotation-env-fetch", model.AnnotationSSLRedirect, "%[env(HOME)]", "not a boolean", "%[env(HOME)]"),
		hostCase("${VAR}, %[...], %[env(...)]", "host-env-var", "${HOME}.example"),
		hostCase("${VAR}, %[...], %[env(...)]", "host-env-fetch", "%[env(HOME)].example"),
		annotationCase("control character in annotation value", "annotation-lf", model.AnnotationSSLRedirect, "true\nhttp-request deny all", "not a boolean", "http-request deny all"),
		annotationCase("control character in annotation value", "annotation-cr", model.AnnotationSSLRedirect, "true\rpwn-acr", "not a boolean", "pwn-acr"),
		annotationCase("control character in annotation value", "annotation-nul", model.AnnotationSSLRedirect, "true\x00pwn-anul", "not a boolean", "pwn-anul"),
		annotationCase("config snippet", "annotation-snippet", "bollard.io/config-snippet", "http-request return status 200 string pwn-snippet", "unknown Bollard annotation", "pwn-snippet"),
		{class: "config snippet", name: "foreign-snippet", layer: harmless, wantNoWarningEvent: true,
			objects: func(n string) []any {
				ing := ingress(n, n+".hostile.example", webPath("Prefix", "/"))
				ing.Annotations = map[string]string{"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers pwn-foreign;\n%[env(HOME)]"}
				return []any{ing}
			},
			payload: []string{"pwn-foreign", "more_set_headers"}, probe: servedBy("/", "web")},
		pathCase("over-long value", "path-too-long", "Prefix", "/"+strings.Repeat("a", model.MaxPathLength+100), "the limit is 1024", strings.Repeat("a", model.MaxPathLength+100)),
		annotationCase("over-long value", "annotation-too-long", model.AnnotationSSLRedirect, strings.Repeat("t", 2*model.MaxAnnotationLength), "the limit is 1024"),
		hostCase("over-long value", "host-too-long", long(254)),
		{class: "over-long value", name: "too-many-paths", layer: leftOut, objects: manyPaths, field: "spec.rules", reason: "the limit is 1000"},
		{class: "over-long value", name: "too-many-tls", layer: leftOut, field: "spec.tls", reason: "the limit is 100",
			objects: func(n string) []any {
				ing := ingress(n, n+".hostile.example", webPath("Prefix", "/"))
				for i := 0; i <= model.MaxTLSPerIngress; i++ {
					ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: []string{fmt.Sprintf("t%d.hostile.example", i)}})
				}
				return []any{ing}
			}},
		{class: "host the API accepts, unsafe in a map", name: "host-tld-wildcard", layer: leftOut,
			objects: func(n string) []any { return []any{ingress(n, "*.example", webPath("Prefix", "/"))} },
			field:   "spec.rules[0].host", reason: "at least two labels", probe: notRouted("pwn-tld.example")},
		{class: "host the API accepts, unsafe in a map", name: "host-253", layer: harmless, wantNoWarningEvent: true,
			objects: func(n string) []any { return []any{ingress(n, long(253), webPath("Prefix", "/"))} },
			probe:   func(ctx context.Context, e *env, _ *hostileCase) error { return served(ctx, e, long(253), "/", "web") }},
		hostCase("host the API refuses", "host-upper", "PWN.example"),
		hostCase("host the API refuses", "host-lf", "pwn.example\nbackend x"),
		hostCase("host the API refuses", "host-ip", "198.18.8.1"),
		{class: "TLS host or secret name", name: "tls-host-crt-list-option", layer: byAPIServer, field: "spec.tls[0].hosts[0]",
			objects: func(n string) []any {
				return []any{mt.Ingress("", n, mt.TLS("s", "a.example [verify none]"), mt.Rule("a.example", webPath("Prefix", "/")))}
			}},
		{class: "TLS host or secret name", name: "tls-secret-path", layer: byAPIServer, field: "spec.tls[0].secretName",
			objects: func(n string) []any {
				return []any{mt.Ingress("", n, mt.TLS("../../etc/passwd", "a.example"), mt.Rule("a.example", webPath("Prefix", "/")))}
			}},
		{class: "regular expression path", name: "path-regex-literal", layer: harmless, wantNoWarningEvent: true,
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", webPath("ImplementationSpecific", "/pwn-(a+)+$"))}
			},
			probe: func(ctx context.Context, e *env, c *hostileCase) error {
				if err := served(ctx, e, c.host(), "/pwn-(a+)+$/x", "web"); err != nil {
					return err
				}
				return status(ctx, e, c.host(), "/pwn-aaaa", http.StatusNotFound)
			}},
		{class: "regular expression path", name: "path-type-regex", layer: byAPIServer,
			field: "spec.rules[0].http.paths[0].pathType", modelField: "spec.rules[0].http.paths[0].path",
			objects: func(n string) []any { return []any{ingress(n, n+".hostile.example", webPath("Regex", "/(a+)+$"))} }},
		{class: "backend reference", name: "service-missing", layer: designed,
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", mt.Path("Prefix", "/", "ghost", 80))}
			},
			field: "spec.rules[0].http.paths[0].backend.service", reason: "not found; its routes answer 503",
			probe: func(ctx context.Context, e *env, c *hostileCase) error {
				return status(ctx, e, c.host(), "/", http.StatusServiceUnavailable)
			}},
		{class: "backend reference", name: "port-missing", layer: designed,
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", mt.Path("Prefix", "/", "web", 8081))}
			},
			field: "spec.rules[0].http.paths[0].backend.service", reason: "has no port 8081",
			probe: func(ctx context.Context, e *env, c *hostileCase) error {
				return status(ctx, e, c.host(), "/", http.StatusServiceUnavailable)
			}},
		{class: "backend reference", name: "service-name-semicolon", layer: byAPIServer, field: "spec.rules[0].http.paths[0].backend.service.name",
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", mt.Path("Prefix", "/", "web;x", 80))}
			}},
		{class: "backend reference", name: "port-name-lf", layer: byAPIServer, field: "spec.rules[0].http.paths[0].backend.service.port.name",
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", mt.Path("Prefix", "/", "web", "http\nx"))}
			}},
	}
	return cases
}

// runCases runs each case as a subtest.
func runCases(t *testing.T, e *env, cases []hostileCase) {
	for i := range cases {
		c := &cases[i]
		t.Run(c.name, func(t *testing.T) {
			outcome := runCase(t, e, c)
			if t.Failed() {
				outcome = "FAILED"
			}
			e.results = append(e.results, fmt.Sprintf("%s | %s | %s | %s", c.class, c.name, c.layer, outcome))
		})
	}
}

func runCase(t *testing.T, e *env, c *hostileCase) string {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	if c.kind == "" {
		c.kind = "Ingress"
	}
	if c.object == "" {
		c.object = c.name
	}
	ns := e.ns
	if c.namespace != nil {
		ns = c.namespace(e)
	}
	objs := c.objects(c.name)
	err := create(ctx, ns, objs...)
	outcome := ""
	switch c.layer {
	case byAPIServer:
		var status apierrors.APIStatus
		if err == nil || !apierrors.IsInvalid(err) || !errors.As(err, &status) || !strings.Contains(err.Error(), c.field) {
			t.Fatalf("want the API server to refuse %s as Invalid, got %v", c.field, err)
		}
		outcome = "API: " + firstLine(status.Status().Message, 110)
		field := c.field
		if c.modelField != "" {
			field = c.modelField
		}
		outcome += "; model: " + modelRefuses(t, objs, field)
		time.Sleep(settle / 2) // sample the healthy route across the case
		return outcome
	case leftOut, designed:
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		outcome = "Event: " + firstLine(e.waitEvent(t, c.kind, c.object, c.field, c.reason), 110)
	default:
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		outcome = "created"
	}
	probe := c.probe
	if probe == nil && (c.layer == leftOut || c.layer == unwatched) && c.kind == "Ingress" {
		probe = notRouted(c.host())
	}
	if probe != nil {
		if err := framework.WaitFor(ctx, 15*time.Second, c.name+" probe", func(ctx context.Context) (bool, error) {
			err := probe(ctx, e, c)
			return err == nil, err
		}); err != nil {
			t.Fatal(err)
		}
		outcome += "; probe ok"
	}
	time.Sleep(settle)
	if c.wantNoWarningEvent || c.layer == unwatched {
		for _, ev := range events(t, ns, c.kind, c.object) {
			if ev.Type == corev1.EventTypeWarning {
				t.Errorf("unexpected Warning Event on %s: %s", c.object, ev.Message)
			}
			if c.layer == unwatched {
				t.Errorf("an object in an unwatched namespace got an Event: %s %s", ev.Reason, ev.Message)
			}
		}
	}
	e.noPayload(t, c.payload)
	return outcome
}

// modelRefuses builds the model from the healthy Ingress, the web Service
// and objs, and checks that it rejects field; it returns the reason.
func modelRefuses(t *testing.T, objs []any, field string) string {
	t.Helper()
	snap := model.Snapshot{
		Ingresses: []*networkingv1.Ingress{mt.Ingress("ns", "healthy", mt.Rule(healthyHost, webPath("Prefix", "/")))},
		Services:  []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *networkingv1.Ingress:
			c := o.DeepCopy()
			c.Namespace = "ns"
			snap.Ingresses = append(snap.Ingresses, c)
		case *discoveryv1.EndpointSlice:
			c := o.DeepCopy()
			c.Namespace = "ns"
			snap.EndpointSlices = append(snap.EndpointSlices, c)
		}
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate = []byte("unused")
	cfg, rejections := model.Build(snap, opts)
	for _, r := range rejections {
		if r.Field == field && !r.Warning {
			if len(cfg.Maps.Hosts) != 1 || cfg.Maps.Hosts[0].Key != healthyHost {
				t.Errorf("model: only the healthy host may route, got %v", cfg.Maps.Hosts)
			}
			return firstLine(r.Reason, 90)
		}
	}
	t.Errorf("the model does not reject %s: %v", field, rejections)
	return "NOT REJECTED"
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// abridged keeps the start and the end of a long message.
func abridged(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= 160 {
		return s
	}
	return s[:70] + " … " + s[len(s)-80:]
}

// notRouted: the host gets the built-in 404.
func notRouted(host string) func(context.Context, *env, *hostileCase) error {
	return func(ctx context.Context, e *env, _ *hostileCase) error {
		return status(ctx, e, host, "/", http.StatusNotFound)
	}
}

// servedBy: the case's host answers from service.
func servedBy(path, service string) func(context.Context, *env, *hostileCase) error {
	return func(ctx context.Context, e *env, c *hostileCase) error {
		return served(ctx, e, c.host(), path, service)
	}
}

func served(ctx context.Context, e *env, host, path, service string) error {
	echo, err := framework.GetEcho(ctx, e.b.Request(host, path))
	if err != nil {
		return err
	}
	if echo.Service != service {
		return fmt.Errorf("%s%s served by %q, want %q", host, path, echo.Service, service)
	}
	return nil
}

func status(ctx context.Context, e *env, host, path string, want int) error {
	resp, err := framework.Do(ctx, e.b.Request(host, path))
	if err != nil {
		return err
	}
	if resp.Status != want {
		return fmt.Errorf("%s%s: status %d, want %d", host, path, resp.Status, want)
	}
	return nil
}
