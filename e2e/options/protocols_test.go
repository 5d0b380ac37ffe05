package options

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TestBackendProtocolH2CIsOneReload: switching backend-protocol is a
// backend directive: exactly one validated reload, after which the
// endpoints get HTTP/2 without TLS.
func TestBackendProtocolH2CIsOneReload(t *testing.T) {
	ns, b := cluster.Setup(t, "h2c")
	cluster.Echo(t, ns, "api", 1)
	cluster.MustApply(t, ns, ingressWith("api", "h2c.example", "api", nil))
	if e := b.WaitServed(t, "h2c.example", "/", "api", 20*time.Second); e.Proto != "HTTP/1.1" {
		t.Fatalf("before: the backend got %s, want HTTP/1.1", e.Proto)
	}
	start := b.Reloads(t)
	cluster.MustApply(t, ns, ingressWith("api", "h2c.example", "api", map[string]string{"backend-protocol": "H2C"}))
	waitProto(t, b, b.Request("h2c.example", "/"), "HTTP/2.0")
	b.AssertReloads(t, start, 1, "backend-protocol HTTP → H2C")
}

// TestGRPC: a gRPC client reaches a gRPC backend through HAProxy (TLS and
// HTTP/2 to HAProxy, h2c to the endpoint with GRPC; TLS with GRPCS).
func TestGRPC(t *testing.T) {
	ns, b := cluster.Setup(t, "grpc")
	ctx := context.Background()
	if err := cluster.CreateEchoWithEnv(ctx, ns, "healthy", 1, framework.EchoPort, nil); err != nil {
		t.Fatal(err)
	}
	if err := cluster.CreateEchoWithEnv(ctx, ns, "sick", 1, framework.EchoPort, map[string]string{"ECHO_GRPC_HEALTH": "NOT_SERVING"}); err != nil {
		t.Fatal(err)
	}
	ca := newAuthority(t)
	leaf := issue(t, ca, "grpcs.internal")
	if err := cluster.CreateEchoWithEnv(ctx, ns, "secure", 1, framework.EchoPort, map[string]string{"ECHO_TLS_CERT": string(leaf.CertPEM), "ECHO_TLS_KEY": string(leaf.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"healthy", "sick", "secure"} {
		if _, err := cluster.ReadyEndpoints(ctx, ns, svc, 1, 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	cluster.MustApply(t, ns, ingressWith("healthy", "grpc.example", "healthy", map[string]string{"backend-protocol": "GRPC"}))
	cluster.MustApply(t, ns, ingressWith("sick", "sick.example", "sick", map[string]string{"backend-protocol": "GRPC"}))
	cluster.MustApply(t, ns, ingressWith("secure", "grpcs.example", "secure", map[string]string{"backend-protocol": "GRPCS"}))

	https := b.TLSRequest("grpc.example", "/").Addr
	for host, want := range map[string]string{"grpc.example": "SERVING", "sick.example": "NOT_SERVING", "grpcs.example": "SERVING"} {
		var got string
		err := framework.WaitFor(ctx, 30*time.Second, "gRPC health of "+host, func(ctx context.Context) (bool, error) {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			var err error
			got, err = framework.GRPCHealthCheck(cctx, https, host, &tls.Config{InsecureSkipVerify: true}) // HAProxy's default certificate
			return err == nil && got == want, nil
		})
		if err != nil {
			t.Errorf("%s: gRPC health through HAProxy: %v (last answer %q)", host, err, got)
		}
	}
}

// TestHTTPSBackend: backend-protocol HTTPS reaches a TLS endpoint;
// backend-ca-secret verifies its certificate (refused with the wrong CA,
// 503), and backend-sni names what HAProxy sends and checks.
func TestHTTPSBackend(t *testing.T) {
	ns, b := cluster.Setup(t, "https")
	ctx := context.Background()
	ca := newAuthority(t)
	other := newAuthority(t)
	leaf := issue(t, ca, "app.internal", "tls.example")
	if err := cluster.CreateEchoWithEnv(ctx, ns, "app", 1, framework.EchoPort, map[string]string{"ECHO_TLS_CERT": string(leaf.CertPEM), "ECHO_TLS_KEY": string(leaf.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ReadyEndpoints(ctx, ns, "app", 1, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	createCASecret(t, ns, "good-ca", ca)
	createCASecret(t, ns, "wrong-ca", other)
	r := b.Request("tls.example", "/")

	cluster.MustApply(t, ns, ingressWith("app", "tls.example", "app", map[string]string{"backend-protocol": "HTTPS"}))
	e := waitEcho(t, r, func(e *framework.Echo) bool { return e.TLS })
	// Without backend-sni HAProxy 2.6 sends no SNI; newer lines may send
	// the request's host on their own.
	t.Logf("HTTPS without backend-sni, HAProxy %s: the endpoint got SNI %q", b.Features(t).Version, e.SNI)

	start := b.Reloads(t)
	cluster.MustApply(t, ns, ingressWith("app", "tls.example", "app", map[string]string{"backend-protocol": "HTTPS", "backend-ca-secret": "good-ca", "backend-sni": "app.internal"}))
	waitEcho(t, r, func(e *framework.Echo) bool { return e.TLS && e.SNI == "app.internal" })
	b.AssertReloads(t, start, 1, "backend-ca-secret and backend-sni added")

	cluster.MustApply(t, ns, ingressWith("app", "tls.example", "app", map[string]string{"backend-protocol": "HTTPS", "backend-ca-secret": "good-ca", "backend-sni": "host"}))
	waitEcho(t, r, func(e *framework.Echo) bool { return e.TLS && e.SNI == "tls.example" })

	cluster.MustApply(t, ns, ingressWith("app", "tls.example", "app", map[string]string{"backend-protocol": "HTTPS", "backend-ca-secret": "wrong-ca"}))
	waitStatus(t, r, http.StatusServiceUnavailable, 20*time.Second)
}

func newAuthority(t *testing.T) *tlscert.Authority {
	t.Helper()
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *tlscert.Authority, names ...string) tlscert.Pair {
	t.Helper()
	pair, err := tlscert.Issue(names, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// createCASecret stores ca as a kubernetes.io/tls Secret with ca.crt, the
// form cert-manager writes (Bollard reads only that type of Secret).
func createCASecret(t *testing.T, namespace, name string, ca *tlscert.Authority) {
	t.Helper()
	_, err := cluster.Client.CoreV1().Secrets(namespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: ca.Pair.CertPEM, corev1.TLSPrivateKeyKey: ca.Pair.KeyPEM, "ca.crt": ca.Pair.CertPEM},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// waitEcho waits for an echo answer that ok accepts.
func waitEcho(t *testing.T, r framework.Request, ok func(*framework.Echo) bool) *framework.Echo {
	t.Helper()
	var last *framework.Echo
	var lastErr error
	err := framework.WaitFor(context.Background(), 20*time.Second, "the wanted echo answer from "+r.Host, func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, r)
		if err != nil {
			lastErr = err
			return false, nil
		}
		last = e
		return ok(e), nil
	})
	if err != nil {
		t.Fatalf("%v (last answer %+v, last error %v)", err, last, lastErr)
	}
	return last
}

func waitProto(t *testing.T, b *framework.Bollard, r framework.Request, proto string) {
	t.Helper()
	waitEcho(t, r, func(e *framework.Echo) bool { return e.Proto == proto })
}
