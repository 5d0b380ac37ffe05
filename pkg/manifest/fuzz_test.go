package manifest_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bollard-io/bollard/pkg/manifest"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

var fuzzNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// richManifest uses every kind the model reads, so that its rendering shows
// every directive the renderer writes.
func richManifest(t testing.TB) string {
	pair, err := tlscert.SelfSigned([]string{"h.example"}, fuzzNow.Add(-time.Hour), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	indent := func(b []byte) string { return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n    ") }
	return `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: bollard}
spec: {controller: bollard.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop, annotations: {bollard.io/ssl-redirect: "true"}}
spec:
  ingressClassName: bollard
  defaultBackend: {service: {name: svc, port: {name: http}}}
  tls: [{hosts: [h.example], secretName: tls}]
  rules:
  - host: h.example
    http: {paths: [{path: /a, pathType: Exact, backend: {service: {name: svc, port: {number: 80}}}}]}
  - host: "*.w.example"
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}]}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: legacy}
spec: {backend: {serviceName: fallback, servicePort: 8080}}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: shop}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, namespace: shop, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
ports: [{port: 8080, name: http}]
endpoints:
- {addresses: [10.0.0.1], conditions: {ready: true}}
- {addresses: [10.0.0.2], conditions: {ready: false, serving: true, terminating: true}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: global, namespace: bollard}
data: {timeout-connect: 3s, ssl-redirect: "false"}
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    ` + indent(pair.CertPEM) + `
  tls.key: |
    ` + indent(pair.KeyPEM) + `
`
}

var backendLine = regexp.MustCompile(`^backend [a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9]*[a-z0-9])? from bollard$`)

// FuzzManifest feeds arbitrary bytes to Load. Properties:
//   - every object that loads has a namespace and a name the API server
//     would accept for its kind;
//   - model.Build and render.Render turn what loads into files whose paths
//     are relative and never hold "..";
//   - haproxy.cfg gains no directive from the input: every line starts with
//     a keyword the renderer writes for well-formed objects, a backend line
//     names a backend "ns_service_port" of DNS labels, and a line with "%["
//     or "$" is a line of the template;
//   - every map line is exactly "key value" of visible ASCII.
func FuzzManifest(f *testing.F) {
	rich := richManifest(f)
	seeds := []string{
		rich,
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: \"a\\n  lua-load /tmp/x.lua\"}\n",
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, namespace: \"a\\n  lua-load /tmp/x.lua\"}\nspec: {defaultBackend: {service: {name: s, port: {number: 80}}}}\n",
		strings.ReplaceAll(rich, "namespace: shop", "namespace: ../../.."),
		strings.ReplaceAll(rich, "name: svc", "name: \"svc\\n  lua-load /tmp/x.lua\""),
		strings.ReplaceAll(rich, "name: tls", "name: ../../../etc/x"),
		strings.ReplaceAll(rich, "kubernetes.io/service-name: svc", "kubernetes.io/service-name: \"svc\\nx\""),
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "${HOME}"}}]}`,
		"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: \"%[env(HOME)]\"}\n",
		"apiVersion: v1\nkind: \"Secret\\nlua-load x\"\nmetadata: {name: s}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	fallback, err := tlscert.SelfSigned([]string{"bollard-default.invalid"}, fuzzNow.Add(-time.Hour), 48*time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	opts := model.DefaultOptions()
	opts.Now, opts.FallbackCertificate, opts.WatchIngressWithoutClass = fuzzNow, fallback.Combined(), true
	opts.GlobalConfigMap = "bollard/global"
	renderAll := func(snap model.Snapshot) ([]render.File, []model.Rejection, error) {
		cfg, rejections := model.Build(snap, opts)
		files, err := render.Render(&cfg, render.DefaultOptions())
		return files, rejections, err
	}

	// The template's lines and the keywords the renderer writes for
	// well-formed objects.
	baseline, err := manifest.Load([]string{"-"}, strings.NewReader(rich))
	if err != nil {
		f.Fatal(err)
	}
	templateLines := map[string]bool{}
	keywords := map[string]bool{}
	for _, snap := range []model.Snapshot{{}, baseline.Snapshot} {
		files, rejections, err := renderAll(snap)
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range rejections {
			if !r.Warning {
				f.Fatalf("the rich manifest must be accepted: %v", r)
			}
		}
		if snap.Secrets != nil && fileData(f, files, render.CertsDir+"/"+model.CertificateFileName("shop", "tls")) == "" {
			f.Fatal("the rich manifest rendered no certificate")
		}
		cfg := fileData(f, files, render.ConfigFile)
		for _, line := range strings.Split(cfg, "\n") {
			templateLines[line] = true
			if fields := strings.Fields(line); len(fields) > 0 {
				keywords[fields[0]] = true
			}
		}
	}
	if !keywords["server"] || !keywords["backend"] {
		f.Fatalf("the rich manifest rendered no backend with servers: %v", keywords)
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		res, err := manifest.Load([]string{"-"}, bytes.NewReader(in))
		if err != nil {
			return
		}
		s := res.Snapshot
		for _, o := range s.Ingresses {
			checkMeta(t, "Ingress", o.Namespace, o.Name, validation.IsDNS1123Subdomain)
		}
		for _, o := range s.IngressClasses {
			checkMeta(t, "IngressClass", "", o.Name, validation.IsDNS1123Subdomain)
			if o.Namespace != "" {
				t.Errorf("IngressClass %q has namespace %q", o.Name, o.Namespace)
			}
		}
		for _, o := range s.Services {
			checkMeta(t, "Service", o.Namespace, o.Name, validation.IsDNS1035Label)
		}
		for _, o := range s.EndpointSlices {
			checkMeta(t, "EndpointSlice", o.Namespace, o.Name, validation.IsDNS1123Subdomain)
		}
		for _, o := range s.Secrets {
			checkMeta(t, "Secret", o.Namespace, o.Name, validation.IsDNS1123Subdomain)
		}
		for _, o := range s.ConfigMaps {
			checkMeta(t, "ConfigMap", o.Namespace, o.Name, validation.IsDNS1123Subdomain)
		}

		files, _, err := renderAll(s)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		for _, file := range files {
			p := file.Path
			if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.Contains(p, "\x00") || containsDotDot(p) {
				t.Errorf("file path %q", p)
			}
			for _, line := range strings.Split(string(file.Data), "\n") {
				switch {
				case p == render.ConfigFile:
					checkConfigLine(t, line, keywords, templateLines)
				case strings.HasPrefix(p, "maps/") && line != "":
					if fields := strings.Split(line, " "); len(fields) != 2 || !visible(fields[0]) || !visible(fields[1]) {
						t.Errorf("%s: line %q is not \"key value\"", p, line)
					}
				}
			}
		}
	})
}

func checkMeta(t *testing.T, kind, namespace, name string, nameOK func(string) []string) {
	t.Helper()
	if kind != "IngressClass" {
		if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
			t.Errorf("%s %q loaded with namespace %q: %v", kind, name, namespace, errs)
		}
	}
	if errs := nameOK(name); len(errs) > 0 {
		t.Errorf("%s %q loaded with an invalid name: %v", kind, name, errs)
	}
}

func checkConfigLine(t *testing.T, line string, keywords, templateLines map[string]bool) {
	t.Helper()
	fields := strings.Fields(line)
	switch {
	case templateLines[line] || len(fields) == 0:
	case !keywords[fields[0]]:
		t.Errorf("haproxy.cfg: line %q starts with %q, which the renderer never writes", line, fields[0])
	case fields[0] == "backend" && !backendLine.MatchString(line):
		t.Errorf("haproxy.cfg: backend line %q", line)
	case strings.Contains(line, "%[") || strings.Contains(line, "$"):
		t.Errorf("haproxy.cfg: line %q has an expression and is not from the template", line)
	case !visible(strings.ReplaceAll(line, " ", "")):
		t.Errorf("haproxy.cfg: line %q holds control or non-ASCII bytes", line)
	}
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return true
		}
	}
	return false
}

func visible(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

func fileData(t testing.TB, files []render.File, path string) string {
	for _, file := range files {
		if file.Path == path {
			return string(file.Data)
		}
	}
	t.Fatalf("no %s rendered", path)
	return ""
}
