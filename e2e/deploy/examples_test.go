package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/cli"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestExamplesRender: deploy/examples (what make demo applies), with the TLS
// Secret the demo generates, gives a config with no rejection that
// haproxy -c accepts, and routes every host and path the demo shows.
func TestExamplesRender(t *testing.T) {
	m := kustomize(t, "examples")
	pair, err := tlscert.SelfSigned([]string{"secure.demo.test"}, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secret := `---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: secure-demo-tls, namespace: demo}
data:
  tls.crt: ` + base64.StdEncoding.EncodeToString(pair.CertPEM) + `
  tls.key: ` + base64.StdEncoding.EncodeToString(pair.KeyPEM) + `
`
	var stdout, stderr bytes.Buffer
	root := cli.NewRootCommand(strings.NewReader(m.yaml+secret), &stdout, &stderr)
	root.SetArgs([]string{"render", "-f", "-", "--check", "--haproxy-binary", framework.HAProxyBinary(t)})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("bollard render: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "haproxy -c: configuration is valid" {
			t.Errorf("render reported: %s", line)
		}
	}
	cfg := stdout.String()
	for _, backend := range []string{"demo_web_http", "demo_api_80", "demo_shop_80", "demo_fallback_80"} {
		if !strings.Contains(cfg, "backend "+backend+" ") {
			t.Errorf("no backend %s in the config", backend)
		}
	}
	for _, want := range []string{"Namespace", "Deployment", "Service", "Ingress"} {
		if !strings.Contains(m.yaml, "\nkind: "+want+"\n") {
			t.Errorf("deploy/examples has no %s", want)
		}
	}
}
