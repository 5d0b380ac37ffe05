package manifest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/manifest"
)

// TestRefusesInvalidMetadata: what the API server would refuse on create is
// refused here, with the file, the document, the kind, the field and the
// reason, and no line break of the hostile value in the message.
func TestRefusesInvalidMetadata(t *testing.T) {
	good := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\n"
	cases := []struct {
		name, doc, field string
	}{
		{"namespace with a directive", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: x, namespace: "a\n  lua-load /tmp/x.lua"}
spec: {defaultBackend: {service: {name: s, port: {number: 80}}}}`, "metadata.namespace"},
		{"namespace climbing out", `apiVersion: v1
kind: Secret
metadata: {name: t, namespace: ../../..}
type: kubernetes.io/tls`, "metadata.namespace"},
		{"legacy Ingress namespace", `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: x, namespace: "A_B"}
spec: {backend: {serviceName: s, servicePort: 80}}`, "metadata.namespace"},
		{"Service name not a DNS-1035 label", `apiVersion: v1
kind: Service
metadata: {name: 1abc}
spec: {ports: [{port: 80}]}`, "metadata.name"},
		{"Ingress name with a slash", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a/b}`, "metadata.name"},
		{"missing name", `apiVersion: v1
kind: ConfigMap
metadata: {namespace: ns}`, "metadata.name"},
		{"IngressClass name", `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: "bollard\n"}
spec: {controller: bollard.io/ingress-controller}`, "metadata.name"},
		{"service-name label", `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, labels: {kubernetes.io/service-name: "s\nx"}}
addressType: IPv4
endpoints: []`, "metadata.labels"},
		{"annotation key", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: x, annotations: {"bad key": v}}`, "metadata.annotations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.yaml")
			if err := os.WriteFile(path, []byte(good+tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := manifest.Load([]string{path}, nil)
			if err == nil {
				t.Fatalf("loaded %+v", res.Snapshot)
			}
			msg := err.Error()
			kind := strings.TrimSpace(strings.SplitN(strings.SplitN(tc.doc, "kind:", 2)[1], "\n", 2)[0])
			for _, want := range []string{path + "#2", kind, tc.field} {
				if !strings.Contains(msg, want) {
					t.Errorf("error must name %q: %s", want, msg)
				}
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error holds a line break: %q", msg)
			}
		})
	}
}

func TestNamespaceDefaultsAndClusterScope(t *testing.T) {
	in := `apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: bollard, namespace: ignored}
spec: {controller: bollard.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: x}
`
	res, err := manifest.Load([]string{"-"}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Snapshot
	if s.Services[0].Namespace != manifest.DefaultNamespace || s.Ingresses[0].Namespace != manifest.DefaultNamespace {
		t.Errorf("a missing namespace must default to %q: %q %q", manifest.DefaultNamespace, s.Services[0].Namespace, s.Ingresses[0].Namespace)
	}
	if s.IngressClasses[0].Namespace != "" {
		t.Errorf("the namespace of a cluster-scoped IngressClass must be dropped, got %q", s.IngressClasses[0].Namespace)
	}
}

func TestHostileKindIsQuoted(t *testing.T) {
	res, err := manifest.Load([]string{"-"}, strings.NewReader(`{"apiVersion": "v1", "kind": "X\nfake line"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || strings.Contains(res.Skipped[0], "\n") || !strings.Contains(res.Skipped[0], `X\nfake line`) {
		t.Errorf("a skipped kind must be shown quoted: %q", res.Skipped)
	}
}
