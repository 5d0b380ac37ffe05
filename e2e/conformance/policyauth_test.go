package conformance

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestAuthPolicies: basic auth and client certificates, one row each
// (e2e/policyauth and e2e/policymtls prove the rest).
func TestAuthPolicies(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-auth")
	cluster.Echo(t, ns, "app", 1)
	ctx := context.Background()
	users := mt.AuthSecret(ns, "users", "alice:"+mt.HashSHA512)
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx, users, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	serverCA := cluster.CreateIssuedTLSSecret(t, ns, "site-tls", "certs.example")
	clientCA, err := tlscert.NewAuthoritySpec(tlscert.Spec{Client: true}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := tlscert.SelfSigned([]string{"ca-holder.invalid"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "client-ca", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: holder.CertPEM, corev1.TLSPrivateKeyKey: holder.KeyPEM, "ca.crt": clientCA.Pair.CertPEM}}
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx, caSecret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.IssueSpec(tlscert.Spec{Names: []string{"alice"}, Client: true}, time.Now(), time.Hour, clientCA)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cluster.MustApply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: basic, annotations: {bollard.io/auth-type: basic, bollard.io/auth-secret: users, bollard.io/auth-realm: "Conformance"}}
spec:
  ingressClassName: bollard
  rules:
  - host: auth.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: certs, annotations: {bollard.io/auth-tls-secret: client-ca}}
spec:
  ingressClassName: bollard
  tls: [{hosts: [certs.example], secretName: site-tls}]
  rules:
  - host: certs.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
`)
	t.Run("basic auth", func(t *testing.T) {
		record(t, "route policies", "auth-type basic: 401 with WWW-Authenticate and the realm without or with wrong credentials, also for //x and /%2e/x; the backend with them")
		resp := expectStatus(t, b, "auth.example", "/x", http.StatusUnauthorized)
		if resp == nil || resp.Header.Get("WWW-Authenticate") != `Basic realm="Conformance"` {
			t.Fatalf("401: %+v", resp)
		}
		for _, p := range []string{"//x", "/%2e/x", "/./x"} {
			if r, err := framework.Do(ctx, b.Request("auth.example", p)); err != nil || r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %+v %v", p, r, err)
			}
		}
		for pw, want := range map[string]int{"wrong": http.StatusUnauthorized, "secret": http.StatusOK} {
			r := b.Request("auth.example", "/x")
			r.Header = http.Header{}
			r.Header.Set("Authorization", "Basic "+basic("alice", pw))
			if resp, err := framework.Do(ctx, r); err != nil || resp.Status != want {
				t.Errorf("password %q: %+v %v, want %d", pw, resp, err, want)
			}
		}
	})
	t.Run("client certificates", func(t *testing.T) {
		record(t, "route policies", "auth-tls-secret: 403 over HTTPS without a client certificate, 200 with one the CA signed")
		with := b.TLSRequest("certs.example", "/")
		with.RootCA, with.ClientCert = serverCA.Pool(), &alice
		err := framework.WaitFor(ctx, converge, "served with a client certificate", func(ctx context.Context) (bool, error) {
			r, err := framework.Do(ctx, with)
			return err == nil && r.Status == http.StatusOK, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		without := b.TLSRequest("certs.example", "/")
		without.RootCA = serverCA.Pool()
		if r, err := framework.Do(ctx, without); err != nil || r.Status != http.StatusForbidden {
			t.Errorf("without a certificate: %+v %v", r, err)
		}
	})
}

func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
