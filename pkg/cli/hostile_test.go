package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestRenderRefusesHostileNamespaces: files in a pull request are untrusted.
// A namespace that injects a directive, or that climbs out of --output-dir,
// fails `render -f` with an error naming the file, document, kind and
// field; nothing is written, and --check never runs HAProxy.
func TestRenderRefusesHostileNamespaces(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"h.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	indent := func(b []byte) string { return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n    ") }
	ingress := func(ns string) string {
		return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: "` + ns + `"}
spec:
  tls: [{hosts: [h.example], secretName: tls}]
  rules:
  - host: h.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}]}
`
	}
	secret := func(ns string) string {
		return `apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: "` + ns + `"}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    ` + indent(pair.CertPEM) + `
  tls.key: |
    ` + indent(pair.KeyPEM) + `
`
	}
	cases := []struct{ name, doc, kind string }{
		{"lua-load in an Ingress namespace", ingress(`a\n  lua-load /tmp/x.lua`), "Ingress"},
		{"lua-load in a Secret namespace", secret(`a\n  lua-load /tmp/x.lua`), "Secret"},
		{"Ingress namespace climbing out", ingress("../../.."), "Ingress"},
		{"Secret namespace climbing out", secret("../../.."), "Secret"},
	}
	// The same files without the hostile document render, and the stand-in
	// HAProxy runs: the checks below can see a write and a run.
	writeInput := func(t *testing.T, doc string) (in, fake, marker, out string) {
		t.Helper()
		base := t.TempDir()
		in = filepath.Join(base, "pr", "objects.yaml")
		if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, []byte(ingress("shop")+"---\n"+secret("shop")+"---\n"+doc), 0o600); err != nil {
			t.Fatal(err)
		}
		// A stand-in HAProxy that leaves a mark when it runs.
		marker = filepath.Join(base, "haproxy-ran")
		fake = filepath.Join(base, "haproxy")
		if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return in, fake, marker, filepath.Join(base, "a", "b", "c", "out")
	}
	in, fake, marker, out := writeInput(t, "")
	if _, stderr, err := run(t, "", "render", "-f", in, "--output-dir", out, "--check", "--haproxy-binary", fake); err != nil {
		t.Fatalf("the healthy objects must render: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("--check did not run the stand-in HAProxy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "certs")); err != nil {
		t.Errorf("the healthy objects wrote no certs: %v", err)
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, fake, marker, out := writeInput(t, tc.doc)
			base := filepath.Dir(filepath.Dir(in))
			stdout, stderr, err := run(t, "", "render", "-f", in, "--output-dir", out, "--check", "--haproxy-binary", fake)
			if err == nil {
				t.Fatalf("render must fail; stderr:\n%s", stderr)
			}
			for _, want := range []string{in + "#3", tc.kind, "metadata.namespace"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error must name %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error()+stdout+stderr, "\n  lua-load") {
				t.Errorf("the payload must not appear unquoted:\nerr %q\nstdout %q\nstderr %q", err, stdout, stderr)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("--check ran HAProxy on hostile input")
			}
			var written []string
			_ = filepath.WalkDir(base, func(p string, d os.DirEntry, _ error) error {
				if d != nil && !d.IsDir() && p != in && p != fake {
					written = append(written, p)
				}
				return nil
			})
			if len(written) != 0 {
				t.Errorf("files were written: %v", written)
			}
		})
	}
}
