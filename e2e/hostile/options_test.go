package hostile

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// optCase is one hostile value of one option (bollard.io/OPTION), on an
// Ingress (left out, Warning on the Ingress) or on a Service (its routes
// answer 503, Warning on the Service and on the Ingress routing to it).
type optCase struct {
	class, name   string
	option, value string
	reason        string
	onService     bool
	// objects are created before the Ingress (Secrets of the CA cases).
	objects func(n string) []any
	// payload are strings, besides the value, that must not reach a file.
	payload []string
}

func (c *optCase) host() string { return c.name + ".hostile.example" }

func (c *optCase) field() string {
	return fmt.Sprintf("metadata.annotations[%q]", model.AnnotationPrefix+c.option)
}

// optionType is the hostile values every option type gets: valid is a good
// value that the injections start with, so that only the tail is wrong.
type optionType struct {
	short, option, valid, reason string
	// ownLimit is a value over the type's own limit, and its reason.
	ownLimit, ownReason string
	// lookalike is the valid value with a non-ASCII look-alike letter.
	lookalike string
}

// The reasons, as the model words them.
const (
	reasonDuration = "is not a duration between 1ms and 24h"
	reasonProtocol = "is not one of HTTP, HTTPS, H2C, H2, GRPC, GRPCS"
	reasonSecret   = "is not a Secret name"
	reasonSNI      = "is neither a host name nor"
	reasonBalance  = "is not one of roundrobin, leastconn, random, source, uri"
	reasonAffinity = "is not one of cookie, none"
	reasonPath     = "is not an absolute path"
	reasonPathChar = "has a character that is not allowed"
	reasonCookie   = "is not a cookie name"
	reasonSize     = "is not a size"
	reasonTooLong  = "the limit is 1024"
)

func optionTypes() []optionType {
	label := strings.Repeat("s", 63)
	return []optionType{
		{short: "dur", option: "timeout-server", valid: "30s", reason: reasonDuration,
			ownLimit: "25h", ownReason: reasonDuration, lookalike: "30\u0455"}, // Cyrillic dze for s
		{short: "proto", option: "backend-protocol", valid: "GRPC", reason: reasonProtocol,
			lookalike: "GRP\u0421"}, // Cyrillic Es for C
		{short: "secret", option: "backend-ca-secret", valid: "ca", reason: reasonSecret,
			ownLimit: strings.Repeat("a", 254), ownReason: reasonSecret, lookalike: "\u0441a"},
		{short: "sni", option: "backend-sni", valid: "a.example", reason: reasonSNI,
			ownLimit: strings.Join([]string{label, label, label, label}, "."), ownReason: reasonSNI, lookalike: "a.\u0435xample"},
		{short: "enum", option: "load-balance", valid: "roundrobin", reason: reasonBalance,
			lookalike: "roundrob\u0456n"}, // Ukrainian i
		{short: "path", option: "health-check-path", valid: "/healthz", reason: reasonPathChar,
			ownLimit: "/" + strings.Repeat("p", 256), ownReason: reasonPath, lookalike: "/h\u0435althz"},
		{short: "cookie", option: "affinity-cookie-name", valid: "sticky", reason: reasonCookie,
			ownLimit: strings.Repeat("c", 65), ownReason: reasonCookie, lookalike: "st\u0456cky"},
		{short: "size", option: "proxy-body-size", valid: "8m", reason: reasonSize,
			ownLimit: "123456789012345678901", ownReason: reasonSize, lookalike: "\uff18m"}, // fullwidth 8
	}
}

// optionCases: the same hostile syntax for every option type, then the
// values that are special to each type.
func optionCases() []optCase {
	var cases []optCase
	add := func(class, name, option, value, reason string) {
		cases = append(cases, optCase{class: class, name: "opt-" + name, option: option, value: value, reason: reason})
	}
	for _, ty := range optionTypes() {
		n, o, v, r := ty.short, ty.option, ty.valid, ty.reason
		if o == "health-check-path" {
			// A path must start with '/': the sample syntax fails that first.
			add("option: ${VAR}, %[...]", n+"-fetch", o, "%[env(HOME)]", reasonPath)
			add("option: ${VAR}, %[...]", n+"-env", o, "${HOME}", reasonPath)
		} else {
			add("option: ${VAR}, %[...]", n+"-fetch", o, "%[env(HOME)]", r)
			add("option: ${VAR}, %[...]", n+"-env", o, "${HOME}", r)
		}
		if o == "health-check-path" {
			add("option: ${VAR}, %[...]", n+"-fetch-tail", o, v+"%[env(HOME)]", "malformed percent escape")
		} else {
			add("option: ${VAR}, %[...]", n+"-fetch-tail", o, v+"%[env(HOME)]", r)
		}
		add("option: CR/LF injection", n+"-lf", o, v+"\n  http-request deny", r)
		add("option: CR/LF injection", n+"-cr", o, v+"\r  http-request deny", r)
		add("option: CR/LF injection", n+"-nul", o, v+"\x00pwn", r)
		add("option: whitespace and #", n+"-space", o, v+" pwn", r)
		add("option: whitespace and #", n+"-hash", o, v+"#pwn", r)
		add("option: quotes and backslash", n+"-dquote", o, v+`"pwn`, r)
		add("option: quotes and backslash", n+"-squote", o, v+"'pwn", r)
		add("option: quotes and backslash", n+"-backslash", o, v+`\pwn`, r)
		add("option: over-long value", n+"-annotation-limit", o, v+strings.Repeat("x", model.MaxAnnotationLength), reasonTooLong)
		if ty.ownLimit != "" {
			add("option: over-long value", n+"-own-limit", o, ty.ownLimit, ty.ownReason)
		}
		add("option: non-ASCII look-alike", n+"-lookalike", o, ty.lookalike, r)
	}
	// Numbers: negative, out of range, fractions, overflow.
	for _, c := range []struct{ name, option, value, reason string }{
		{"dur-negative", "timeout-server", "-1s", reasonDuration},
		{"dur-zero", "timeout-connect", "0s", reasonDuration},
		{"dur-no-unit", "timeout-tunnel", "30", reasonDuration},
		{"dur-fraction", "health-check-interval", "1.5ms", reasonDuration},
		{"dur-overflow", "timeout-server", "9999999999999999999h", reasonDuration},
		{"dur-fullwidth", "timeout-connect", "\uff13\uff10s", reasonDuration},
		{"size-overflow", "proxy-body-size", "99999999999g", "is larger than"},
		{"size-int64-overflow", "proxy-body-size", "99999999999999999999", "is larger than"},
		{"size-negative", "proxy-body-size", "-1", reasonSize},
		{"size-fraction", "proxy-body-size", "1.5m", reasonSize},
		{"size-unit", "proxy-body-size", "1t", reasonSize},
		{"size-hex", "proxy-body-size", "0x10", reasonSize},
	} {
		add("option: negative or overflowing number", c.name, c.option, c.value, c.reason)
	}
	// Enums: wrong case, unknown values, separators.
	for _, c := range []struct{ name, option, value, reason string }{
		{"enum-semicolon", "load-balance", "roundrobin;", reasonBalance},
		{"enum-upper", "load-balance", "RoundRobin", reasonBalance},
		{"enum-hdr", "load-balance", "hdr(host)", reasonBalance},
		{"enum-affinity-upper", "affinity", "Cookie", reasonAffinity},
		{"enum-affinity-insert", "affinity", "cookie insert", reasonAffinity},
		{"proto-grpc-lf", "backend-protocol", "GRPC\n", reasonProtocol},
		{"proto-semicolon", "backend-protocol", "h2;", reasonProtocol},
		{"proto-unknown", "backend-protocol", "fcgi", reasonProtocol},
		{"proto-long-s", "backend-protocol", "http\u017f", reasonProtocol}, // ſ upper-cases to S
		{"proto-long-s-grpcs", "backend-protocol", "grpc\u017f", reasonProtocol},
	} {
		add("option: wrong enum case or unknown value", c.name, c.option, c.value, c.reason)
	}
	// Health-check paths: a space, a quote, no leading slash, bad escapes.
	for _, c := range []struct{ name, value, reason string }{
		{"path-inner-space", "/a b", reasonPathChar},
		{"path-dquote-only", `/a"`, reasonPathChar},
		{"path-relative", "healthz", reasonPath},
		{"path-empty", "", reasonPath},
		{"path-squote-only", "/a'", reasonPathChar},
		{"path-bad-escape", "/a%zz", "malformed percent escape"},
		{"path-tab", "/a\tHTTP/1.0", reasonPathChar},
	} {
		add("option: health-check-path", c.name, "health-check-path", c.value, c.reason)
	}
	// Cookie names: '=' and ';' and what haproxy.cfg reads specially.
	for _, c := range []struct{ name, value string }{
		{"cookie-equals", "a=b"},
		{"cookie-semicolon", "a;b"},
		{"cookie-empty", ""},
		{"cookie-comma", "a,b"},
		{"cookie-squote-only", "a'"},
		{"cookie-hash-only", "a#"},
	} {
		add("option: affinity-cookie-name", c.name, "affinity-cookie-name", c.value, reasonCookie)
	}
	// SNI: wildcard, empty label, upper case, IP, trailing dot.
	for _, c := range []struct{ name, value string }{
		{"sni-wildcard", "*.example.com"},
		{"sni-empty-label", "a..b"},
		{"sni-upper", "A.example"},
		{"sni-ip", "127.0.0.1"},
		{"sni-trailing-dot", "a.example."},
		{"sni-fetch-syntax", "str(a),lower"},
	} {
		add("option: backend-sni", c.name, "backend-sni", c.value, reasonSNI)
	}
	// Secret names: a path, a missing Secret, garbage in ca.crt.
	add("option: backend-ca-secret", "secret-path", "backend-ca-secret", "../../etc/passwd", reasonSecret)
	add("option: backend-ca-secret", "secret-upper", "backend-ca-secret", "CA", reasonSecret)
	add("option: backend-ca-secret", "secret-missing", "backend-ca-secret", "opt-no-such-secret", "not found")
	cases = append(cases,
		caCase("secret-ca-garbage", []byte("-----BEGIN CERTIFICATE-----\npwn-ca %[env(HOME)] ${HOME}\n-----END CERTIFICATE-----\n"), "holds no PEM certificate", "pwn-ca"),
		caCase("secret-ca-not-der", []byte("-----BEGIN CERTIFICATE-----\ncHduLWRlcg==\n-----END CERTIFICATE-----\n"), "holds an invalid certificate", "cHduLWRlcg=="),
		caCase("secret-ca-text", []byte("pwn-text\nbind :1\n"), "holds no PEM certificate", "pwn-text"),
		caCase("secret-ca-empty", nil, "has no ca.crt", ""),
	)
	// One case per type on a Service (and a route option on a Service).
	for _, c := range []optCase{
		{name: "svc-dur", option: "timeout-server", value: "30s\n  http-request deny", reason: reasonDuration},
		{name: "svc-proto", option: "backend-protocol", value: "GRPC\n", reason: reasonProtocol},
		{name: "svc-secret", option: "backend-ca-secret", value: "${HOME}", reason: reasonSecret},
		{name: "svc-sni", option: "backend-sni", value: "*.example.com", reason: reasonSNI},
		{name: "svc-enum", option: "load-balance", value: "roundrobin;", reason: reasonBalance},
		{name: "svc-path", option: "health-check-path", value: `/a"b`, reason: reasonPathChar},
		{name: "svc-cookie", option: "affinity-cookie-name", value: "a=b", reason: reasonCookie},
		{name: "svc-size", option: "proxy-body-size", value: "99999999999g", reason: "is larger than"},
		{name: "svc-route-option", option: "ssl-redirect", value: "false", reason: "a Service carries only backend options"},
	} {
		c.class, c.name, c.onService = "option on a Service", "opt-"+c.name, true
		cases = append(cases, c)
	}
	return cases
}

// caCase names a kubernetes.io/tls Secret (the kind Bollard watches) with
// a good certificate and key and a bad ca.crt.
func caCase(name string, caCrt []byte, reason, payload string) optCase {
	c := optCase{class: "option: backend-ca-secret", name: "opt-" + name, option: "backend-ca-secret", value: "opt-" + name, reason: reason}
	if payload != "" {
		c.payload = []string{payload}
	}
	c.objects = func(n string) []any {
		s := secret(n, optPair.CertPEM, optPair.KeyPEM)
		if caCrt != nil {
			s.Data["ca.crt"] = caCrt
		}
		return []any{s}
	}
	return c
}

// optPair is the certificate and key of the CA cases' Secrets (the
// Secret must be a valid TLS Secret; only its ca.crt is hostile).
var optPair struct{ CertPEM, KeyPEM []byte }

// optService is a Service named name that selects web's pods.
func optService(name string, annotations map[string]string) *corev1.Service {
	svc := framework.EchoService("", name, 80, framework.EchoPort)
	svc.Spec.Selector = map[string]string{"app": "web"}
	svc.Annotations = annotations
	return svc
}

// optValidAnnotations are good values of every backend option type.
var optValidAnnotations = map[string]string{
	"bollard.io/timeout-server":        "30s",
	"bollard.io/timeout-connect":       "2s",
	"bollard.io/timeout-tunnel":        "2h",
	"bollard.io/backend-protocol":      "HTTP",
	"bollard.io/load-balance":          "leastconn",
	"bollard.io/health-check-path":     "/healthz?probe=1",
	"bollard.io/health-check-interval": "500ms",
	"bollard.io/affinity":              "cookie",
	"bollard.io/affinity-cookie-name":  "opt_valid",
	"bollard.io/proxy-body-size":       "8m",
}

// testOptions applies every hostile option value at once (one sync, few
// reloads), next to an unrelated Ingress with valid options that is served
// before and after, then checks each case's Warning, that its host is not
// routed (Ingress) or answers 503 (Service), that no value reached a file
// and that no config check or reload failed.
func testOptions(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	masterPID, err := e.b.MasterPID()
	if err != nil {
		t.Fatal(err)
	}
	pair := e.issue(t, "opt-ca", time.Now(), time.Hour)
	optPair.CertPEM, optPair.KeyPEM = pair.CertPEM, pair.KeyPEM

	// The unrelated Ingress, with a valid value of every backend option,
	// to a Service of its own.
	const validHost = "opt-valid.hostile.example"
	valid := mt.Ingress("", "opt-valid", mt.Rule(validHost, mt.Path("Prefix", "/", "opt-valid", 80)))
	valid.Annotations = optValidAnnotations
	if err := create(ctx, e.ns, optService("opt-valid", nil), optService("opt-target", nil), valid); err != nil {
		t.Fatal(err)
	}
	e.b.WaitServed(t, validHost, "/", "web", 20*time.Second)
	if err := servedWithCookie(ctx, e, validHost, "opt_valid"); err != nil {
		t.Fatal(err)
	}
	baseline := framework.ReadFiles(t, e.b.ConfigDir, nil)

	cases := append(optionCases(), policyCases()...)
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("two cases named %s", c.name)
		}
		names[c.name] = true
	}
	setup := time.Now()
	for i := range cases {
		c := &cases[i]
		var objs []any
		if c.objects != nil {
			objs = c.objects(c.name)
		}
		annotations := map[string]string{model.AnnotationPrefix + c.option: c.value}
		if c.onService {
			objs = append(objs, optService(c.name, annotations),
				mt.Ingress("", c.name, mt.Rule(c.host(), mt.Path("Prefix", "/", c.name, 80))))
		} else {
			ing := mt.Ingress("", c.name, mt.Rule(c.host(), mt.Path("Prefix", "/", "opt-target", 80)))
			ing.Annotations = annotations
			objs = append(objs, ing)
		}
		if err := create(ctx, e.ns, objs...); err != nil {
			t.Fatalf("%s: create: %v", c.name, err)
		}
	}
	created := time.Since(setup)

	// Every Warning, from one list of the namespace's Events per round.
	type want struct{ kind, object, field, reason string }
	var wants []want
	for _, c := range cases {
		if c.onService {
			wants = append(wants, want{"Service", c.name, c.field(), c.reason},
				want{"Ingress", c.name, "spec.rules[0].http.paths[0].backend.service", "has an invalid annotation"})
		} else {
			wants = append(wants, want{"Ingress", c.name, c.field(), c.reason})
		}
	}
	found := map[want]string{}
	var seen map[string][]string
	err = framework.WaitFor(ctx, 20*time.Second, "a Warning for every hostile option", func(ctx context.Context) (bool, error) {
		evs, err := cluster.Client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
		if err != nil {
			return false, err
		}
		seen = map[string][]string{}
		for _, ev := range evs.Items {
			key := ev.InvolvedObject.Kind + "/" + ev.InvolvedObject.Name
			seen[key] = append(seen[key], ev.Message)
		}
		for _, w := range wants {
			for _, msg := range seen[w.kind+"/"+w.object] {
				if strings.Contains(msg, w.field) && strings.Contains(msg, w.reason) {
					found[w] = msg
				}
			}
		}
		return len(found) == len(wants), nil
	})
	if err != nil {
		for _, w := range wants {
			if _, ok := found[w]; !ok {
				t.Errorf("no Warning on %s %s naming %s with %q; its Warnings: %q", w.kind, w.object, w.field, w.reason, seen[w.kind+"/"+w.object])
			}
		}
	}
	events := time.Since(setup)

	// Ingress cases are not routed (404); Service cases answer 503.
	probe := func(ctx context.Context, c *optCase) error {
		want := http.StatusNotFound
		if c.onService {
			want = http.StatusServiceUnavailable
		}
		req := e.b.Request(c.host(), "/")
		req.Timeout = 2 * time.Second
		resp, err := framework.Do(ctx, req)
		if err == nil && resp.Status != want {
			err = fmt.Errorf("%s/: status %d, want %d", c.host(), resp.Status, want)
		}
		return err
	}
	failing := map[string]error{}
	err = framework.WaitFor(ctx, 15*time.Second, "every hostile option's probe", func(ctx context.Context) (bool, error) {
		errs := make([]error, len(cases))
		var wg sync.WaitGroup
		for i := range cases {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = probe(ctx, &cases[i]) }()
		}
		wg.Wait()
		failing = map[string]error{}
		for i, err := range errs {
			if err != nil {
				failing[cases[i].name] = err
			}
		}
		return len(failing) == 0, nil
	})
	if err != nil {
		for name, err := range failing {
			t.Errorf("%s: %v", name, err)
		}
	}
	time.Sleep(settle)

	// No value (nor a left-out Ingress's host) reached a file: each occurs
	// no more often than before the hostile objects.
	files := framework.ReadFiles(t, e.b.ConfigDir, nil)
	count := func(files map[string]string, s string) (n int, where []string) {
		for rel, data := range files {
			if k := strings.Count(data, s); k > 0 {
				n += k
				where = append(where, rel)
			}
		}
		sort.Strings(where)
		return n, where
	}
	leaked, checked := map[string]bool{}, 0
	for _, c := range cases {
		payloads := append([]string{c.value}, c.payload...)
		if !c.onService {
			payloads = append(payloads, c.host())
		}
		for _, p := range payloads {
			if !distinctive(p) {
				continue
			}
			checked++
			if n, where := count(files, p); n > 0 {
				if was, _ := count(baseline, p); n > was {
					leaked[c.name] = true
					t.Errorf("%s: %q occurs %d times in %v (%d before)", c.name, firstLine(p, 80), n, where, was)
				}
			}
		}
	}
	if pid, err := e.b.MasterPID(); err != nil || pid != masterPID {
		t.Errorf("HAProxy's master was %d, is %d (%v)", masterPID, pid, err)
	}
	if err := servedWithCookie(ctx, e, validHost, "opt_valid"); err != nil {
		t.Errorf("the unrelated Ingress after the hostile options: %v", err)
	}
	for _, c := range cases {
		layer, outcome := leftOut, "Event: "+firstLine(found[want{"Ingress", c.name, c.field(), c.reason}], 110)
		if c.onService {
			layer, outcome = designed, "503; Event on Service: "+firstLine(found[want{"Service", c.name, c.field(), c.reason}], 100)
		}
		if failing[c.name] != nil || leaked[c.name] || outcome == "Event: " {
			outcome = "FAILED"
		}
		e.results = append(e.results, fmt.Sprintf("%s | %s | %s | %s", c.class, c.name, layer, outcome))
	}
	t.Logf("%d values and hosts checked against %d files", checked, len(files))
	t.Logf("%d hostile option cases: created in %s, all Warnings by %s, probes and file check by %s",
		len(cases), created.Round(time.Millisecond), events.Round(time.Millisecond), time.Since(setup).Round(time.Millisecond))

	t.Run("converges", func(t *testing.T) { testOptionsConverge(t, e) })
}

// distinctive reports whether p is worth looking for in the files: a short
// plain value ("30", "-1s") may occur in them for other reasons, and cannot
// inject anything.
func distinctive(p string) bool {
	for _, r := range p {
		if r > 0x7e || r < 0x20 {
			return true
		}
	}
	return len(p) >= 4 && (len(p) > 20 || strings.ContainsAny(p, " #'\"\\%${}[]();=,*"))
}

// servedWithCookie: host is served by web and sets the affinity cookie.
func servedWithCookie(ctx context.Context, e *env, host, cookie string) error {
	resp, err := framework.Do(ctx, e.b.Request(host, "/"))
	if err != nil {
		return err
	}
	echo, err := resp.Echo()
	if err != nil || echo.Service != "web" {
		return fmt.Errorf("%s: status %d, not served by web (%v)", host, resp.Status, err)
	}
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, cookie+"=") {
			return nil
		}
	}
	return fmt.Errorf("%s: no %s cookie in %q", host, cookie, resp.Header.Values("Set-Cookie"))
}

// testOptionsConverge: with every hostile option in place, a new Service
// and Ingress with valid options are served with them, and an endpoint
// change of that Service is followed.
func testOptionsConverge(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	const host = "opt-late.hostile.example"
	cluster.Echo(t, e.ns, "opt-late", 1)
	svc, err := cluster.Client.CoreV1().Services(e.ns).Get(ctx, "opt-late", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Annotations = map[string]string{"bollard.io/load-balance": "leastconn", "bollard.io/timeout-tunnel": "2h"}
	if _, err := cluster.Client.CoreV1().Services(e.ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ing := mt.Ingress("", "opt-late", mt.Rule(host, mt.Path("Prefix", "/", "opt-late", 80)))
	ing.Annotations = map[string]string{"bollard.io/timeout-server": "30s", "bollard.io/proxy-body-size": "1m"}
	if err := create(ctx, e.ns, ing); err != nil {
		t.Fatal(err)
	}
	e.b.WaitServed(t, host, "/", "opt-late", 20*time.Second)
	// The options are in place: the maps hold the backend's values and
	// haproxy.cfg its balance.
	backend := model.BackendName(e.ns, "opt-late", "80")
	err = framework.WaitFor(ctx, 10*time.Second, "opt-late's options on disk", func(ctx context.Context) (bool, error) {
		files := framework.ReadFiles(t, e.b.ConfigDir, nil)
		return strings.Contains(files["maps/timeout-server.map"], backend+" 30000") &&
			strings.Contains(files["maps/timeout-tunnel.map"], backend+" 7200000") &&
			strings.Contains(files["maps/body-size.map"], backend+" 1048576") &&
			strings.Contains(backendSection(files["haproxy.cfg"], backend), "balance leastconn"), nil
	})
	if err != nil {
		files := framework.ReadFiles(t, e.b.ConfigDir, nil)
		t.Fatalf("%v\n%s", err, backendSection(files["haproxy.cfg"], backend))
	}
	if err := cluster.Scale(ctx, e.ns, "opt-late", 2); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(ctx, e.ns, "opt-late", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.b.WaitServedByExactly(t, host, framework.Pods(eps), 15*time.Second)
	e.results = append(e.results, fmt.Sprintf("all hostile options in place | opt-converges | new Service and Ingress with valid options, endpoint change | served with its options in %s", time.Since(start).Round(time.Millisecond)))
}

// backendSection is the text of one backend section of haproxy.cfg.
func backendSection(cfg, backend string) string {
	for _, sec := range strings.Split(cfg, "\nbackend ") {
		if strings.HasPrefix(sec, backend+" ") || strings.HasPrefix(sec, backend+"\n") {
			return "backend " + sec
		}
	}
	return ""
}
