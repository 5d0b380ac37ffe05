package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/cli"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

const legacyIngress = `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: core-api
spec:
  rules:
  - host: api.quiqup.com
    http:
      paths:
      - backend:
          serviceName: core-api-app
          servicePort: 80
`

func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := cli.NewRootCommand(strings.NewReader(stdin), &stdout, &stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

// TestRenderLegacyManifest: the dry-run of an extensions/v1beta1 manifest
// prints a config that haproxy -c accepts and that routes the host to its
// service, and a real HAProxy running the written files does so.
func TestRenderLegacyManifest(t *testing.T) {
	stdout, stderr, err := run(t, legacyIngress, "render", "-f", "-", "--check", "--haproxy-binary", haproxytest.Binary(t))
	if err != nil {
		t.Fatalf("render --check: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "backend default_core-api-app_80") || !strings.Contains(stderr, "configuration is valid") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}

	// Add the Service's endpoint (a real backend) and run HAProxy on the output.
	be := haproxytest.NewBackend(t, "core-api-app")
	objects := legacyIngress + `---
apiVersion: v1
kind: Service
metadata: {name: core-api-app}
spec: {ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: core-api-app-1, labels: {kubernetes.io/service-name: core-api-app}}
addressType: IPv4
ports: [{port: ` + strconv.Itoa(int(be.Port)) + `}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`
	dir := t.TempDir()
	opts := haproxytest.Options(t, dir)
	out := filepath.Join(dir, "out")
	_, stderr, err = run(t, objects, "render", "-f", "-", "--output-dir", out, "--check", "--haproxy-binary", haproxytest.Binary(t),
		"--endpoint-cidrs", "127.0.0.0/8", // the backend listens on loopback
		"--bind-address", "127.0.0.1", "--http-port", strconv.Itoa(opts.HTTPPort),
		"--https-port", strconv.Itoa(opts.HTTPSPort), "--stats-port", strconv.Itoa(opts.StatsPort),
		"--runtime-dir", opts.RuntimeDir)
	if err != nil {
		t.Fatalf("render --output-dir: %v\n%s", err, stderr)
	}
	for _, name := range []string{render.ConfigFile, render.HostsMap, render.PrefixPathsMap, render.CrtList, render.DefaultCertPEM} {
		info, err := os.Stat(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == render.DefaultCertPEM && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	files := readDir(t, out)
	inst := haproxytest.Start(t, out, files, opts)
	if got := haproxytest.Get(t, inst.HTTP, "api.quiqup.com", "/v1/orders"); got.Status != 200 || got.Body != "core-api-app /v1/orders" {
		t.Errorf("api.quiqup.com: %d %q", got.Status, got.Body)
	}
	if got := haproxytest.Get(t, inst.HTTP, "other.example", "/"); got.Status != 404 {
		t.Errorf("an unknown host must get 404, got %d", got.Status)
	}
}

func readDir(t *testing.T, dir string) []render.File {
	t.Helper()
	var files []render.File
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(dir, path)
		files = append(files, render.File{Path: filepath.ToSlash(rel), Mode: info.Mode().Perm(), Data: data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestRenderReportsRejectionsAndFailsCheck(t *testing.T) {
	hostile := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: evil}
spec:
  rules:
  - host: ok.example
    http:
      paths:
      - {path: "/a\nbackend x", pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: foreign, annotations: {kubernetes.io/ingress.class: nginx}}
spec: {defaultBackend: {service: {name: s, port: {number: 80}}}}
`
	stdout, stderr, err := run(t, hostile, "render", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, `Ingress default/evil: rejected: spec.rules[0].http.paths[0].path`) ||
		!strings.Contains(stderr, "skipped: Ingress default/foreign") {
		t.Errorf("stderr must name the rejected field and the skipped Ingress:\n%s", stderr)
	}
	if strings.Contains(stdout, "backend x") {
		t.Errorf("the payload reached the config")
	}
	// --check must fail with HAProxy's own message when HAProxy refuses.
	_, _, err = run(t, hostile, "render", "-f", "-", "--check", "--haproxy-binary", "/bin/false")
	if err == nil || !strings.Contains(err.Error(), "haproxy -c rejected the config") {
		t.Errorf("a failing check must be an error, got %v", err)
	}
	if _, _, err := run(t, "", "render"); err == nil {
		t.Errorf("render with no input must fail")
	}
}

// render --check asks the HAProxy binary for its TLS policy and refuses a
// Secret its TLS library would not load; plain render uses the default
// policy.
func TestRenderCheckProbesTLSPolicy(t *testing.T) {
	var weak mt.TLSCase
	for _, c := range mt.TLSCases(t, "weak.example", time.Now()) {
		if c.Name == "RSA-1024" {
			weak = c
		}
	}
	manifest := `apiVersion: v1
kind: Secret
metadata: {name: weak}
type: kubernetes.io/tls
data:
  tls.crt: ` + base64.StdEncoding.EncodeToString(weak.CertPEM) + `
  tls.key: ` + base64.StdEncoding.EncodeToString(weak.KeyPEM) + `
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [weak.example], secretName: weak}]
  rules:
  - host: weak.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
`
	const refusal = "spec.tls[0].secretName: secret default/weak: certificate: RSA key of 1024 bits"
	_, stderr, err := run(t, manifest, "render", "-f", "-", "--check", "--haproxy-binary", haproxytest.Binary(t))
	if err != nil {
		t.Fatalf("render --check: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, refusal) {
		t.Errorf("render --check must refuse the RSA-1024 Secret:\n%s", stderr)
	}
	if _, stderr, _ = run(t, manifest, "render", "-f", "-"); !strings.Contains(stderr, refusal) {
		t.Errorf("plain render must refuse the RSA-1024 Secret by default:\n%s", stderr)
	}
	// A "HAProxy" that accepts everything gives a policy that accepts
	// RSA-1024: the policy comes from the binary.
	if _, stderr, err = run(t, manifest, "render", "-f", "-", "--check", "--haproxy-binary", "/bin/true"); err != nil || strings.Contains(stderr, "RSA key") {
		t.Errorf("render --check with a binary that loads RSA-1024 must accept it: %v\n%s", err, stderr)
	}
	// A probe that cannot run falls back to the default, with a warning.
	_, stderr, _ = run(t, manifest, "render", "-f", "-", "--check", "--haproxy-binary", filepath.Join(t.TempDir(), "none"))
	if !strings.Contains(stderr, "using the default TLS policy") || !strings.Contains(stderr, refusal) {
		t.Errorf("a failed probe must warn and use the default policy:\n%s", stderr)
	}
}
