package manifest_test

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/manifest"
)

func TestLegacyIngressConversion(t *testing.T) {
	in := `
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: core-api
spec:
  backend:
    serviceName: fallback
    servicePort: http
  tls:
  - hosts: [api.quiqup.com]
    secretName: api-tls
  rules:
  - host: api.quiqup.com
    http:
      paths:
      - backend:
          serviceName: core-api-app
          servicePort: 80
      - path: /v2
        pathType: Exact
        backend:
          serviceName: v2
          servicePort: grpc
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: beta, namespace: shop}
spec:
  ingressClassName: bollard
  rules:
  - http:
      paths:
      - {path: /x, backend: {serviceName: x, servicePort: 8080}}
`
	res, err := manifest.Load([]string{"-"}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	ings := res.Snapshot.Ingresses
	if len(ings) != 2 {
		t.Fatalf("got %d Ingresses", len(ings))
	}
	core := ings[0]
	if core.Namespace != "default" || core.Spec.DefaultBackend.Service.Name != "fallback" || core.Spec.DefaultBackend.Service.Port.Name != "http" {
		t.Errorf("spec.backend must become spec.defaultBackend in namespace default: %+v", core)
	}
	p := core.Spec.Rules[0].HTTP.Paths
	if p[0].Backend.Service.Name != "core-api-app" || p[0].Backend.Service.Port.Number != 80 || *p[0].PathType != networkingv1.PathTypeImplementationSpecific {
		t.Errorf("serviceName/servicePort must convert: %+v", p[0])
	}
	if p[1].Backend.Service.Port.Name != "grpc" || *p[1].PathType != networkingv1.PathTypeExact {
		t.Errorf("named port and pathType must convert: %+v", p[1])
	}
	if core.Spec.TLS[0].SecretName != "api-tls" {
		t.Errorf("tls must convert: %+v", core.Spec.TLS)
	}
	beta := ings[1]
	if beta.Namespace != "shop" || *beta.Spec.IngressClassName != "bollard" || beta.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 8080 {
		t.Errorf("networking v1beta1 must convert: %+v", beta)
	}
}

func TestKindsListsAndErrors(t *testing.T) {
	in := `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}]}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}
---
apiVersion: v1
kind: Secret
metadata: {name: t, namespace: ns}
stringData: {tls.crt: abc}
---
# an empty document
---
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
`
	res, err := manifest.Load([]string{"-"}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Snapshot
	if len(s.Services) != 1 || len(s.Secrets) != 1 || len(s.ConfigMaps) != 1 || len(res.Skipped) != 1 {
		t.Fatalf("snapshot %+v skipped %v", s, res.Skipped)
	}
	if string(s.Secrets[0].Data["tls.crt"]) != "abc" {
		t.Errorf("stringData must merge into data")
	}
	_, err = manifest.Load([]string{"-"}, strings.NewReader("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}\nspec:\n  rules:\n  - http:\n      paths:\n      - backend: {serviceNmae: x, servicePort: 80}\n"))
	if err == nil || !strings.Contains(err.Error(), "serviceNmae") {
		t.Errorf("a misspelled field must be an error naming it, got %v", err)
	}
	if _, err := manifest.Load([]string{"/nonexistent/file.yaml"}, nil); err == nil {
		t.Errorf("a missing file must be an error")
	}
}
