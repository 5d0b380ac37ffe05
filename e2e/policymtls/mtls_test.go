package policymtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// Hosts of the test: secure asks for a client certificate ("on"), partner
// lets requests without one pass ("optional"), open has no policy. One
// server certificate serves all three.
const (
	secureHost  = "secure.mtls.example"
	partnerHost = "partner.mtls.example"
	openHost    = "open.mtls.example"
)

// ingressYAML renders an Ingress of one Prefix "/" rule for host → service
// port 80 with TLS from the Secret site-tls and the given annotations.
func ingressYAML(name, host, service string, annotations map[string]string) string {
	var ann []string
	for k, v := range annotations {
		ann = append(ann, fmt.Sprintf("bollard.io/%s: %q", k, v))
	}
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s, annotations: {%s}}
spec:
  ingressClassName: bollard
  tls:
  - {hosts: [%s], secretName: site-tls}
  rules:
  - host: %s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}
`, name, strings.Join(ann, ", "), host, host, service)
}

// clientCert issues a client certificate named cn by ca.
func clientCert(t *testing.T, cn string, ca *tlscert.Authority) (*tls.Certificate, []byte) {
	t.Helper()
	pair, err := tlscert.IssueSpec(tlscert.Spec{Names: []string{cn}, Client: true}, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &cert, pair.CertPEM
}

// caSecret stores the CA Secret as cert-manager writes one: type
// kubernetes.io/tls with ca.crt.
func caSecret(t *testing.T, ns string, ca *tlscert.Authority) *corev1.Secret {
	t.Helper()
	pair, err := tlscert.SelfSigned([]string{"ca-holder.invalid"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "client-ca", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: pair.CertPEM, corev1.TLSPrivateKeyKey: pair.KeyPEM, "ca.crt": ca.Pair.CertPEM}}
}

type setup struct {
	b            *framework.Bollard
	ns           string
	serverCA     *x509.CertPool
	alice        *tls.Certificate // issued by the client CA
	alicePEM     []byte
	mallory      *tls.Certificate // issued by another CA
	clientCA     *tlscert.Authority
	otherCA      *tlscert.Authority
	startReloads int
}

func (s *setup) request(host, sni string, cert *tls.Certificate) framework.Request {
	r := s.b.TLSRequest(host, "/")
	r.SNI, r.RootCA, r.ClientCert = sni, s.serverCA, cert
	return r
}

func newSetup(t *testing.T) *setup {
	ns, b := cluster.Setup(t, "mtls")
	cluster.Echo(t, ns, "app", 1)
	cluster.Echo(t, ns, "open", 1)
	serverCA := cluster.CreateIssuedTLSSecret(t, ns, "site-tls", secureHost, partnerHost, openHost)
	// Client CAs without extended key usage: OpenSSL refuses a client
	// certificate whose CA has serverAuth only ("unsupported certificate").
	clientCA, err := tlscert.NewAuthoritySpec(tlscert.Spec{Client: true}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := tlscert.NewAuthoritySpec(tlscert.Spec{Client: true}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(context.Background(), caSecret(t, ns, clientCA), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &setup{b: b, ns: ns, serverCA: serverCA.Pool(), clientCA: clientCA, otherCA: otherCA}
	s.alice, s.alicePEM = clientCert(t, "alice", clientCA)
	s.mallory, _ = clientCert(t, "mallory", otherCA)
	// ssl-redirect off on secure: its plain-HTTP requests reach the policy.
	cluster.MustApply(t, ns, ingressYAML("secure", secureHost, "app", map[string]string{"auth-tls-secret": "client-ca", "ssl-redirect": "false"}))
	cluster.MustApply(t, ns, ingressYAML("partner", partnerHost, "app", map[string]string{"auth-tls-secret": "client-ca", "auth-tls-verify-client": "optional"}))
	cluster.MustApply(t, ns, ingressYAML("open", openHost, "open", nil))
	s.waitStatus(t, s.request(openHost, "", nil), http.StatusOK)
	s.waitStatus(t, s.request(secureHost, "", s.alice), http.StatusOK)
	s.waitStatus(t, s.request(partnerHost, "", nil), http.StatusOK)
	s.startReloads = b.Reloads(t)
	return s
}

// waitStatus waits until r answers status.
func (s *setup) waitStatus(t *testing.T, r framework.Request, status int) *framework.Response {
	t.Helper()
	var last *framework.Response
	var lastErr error
	err := framework.WaitFor(context.Background(), 30*time.Second, fmt.Sprintf("%s (SNI %q) answers %d", r.Host, r.SNI, status), func(ctx context.Context) (bool, error) {
		last, lastErr = framework.Do(ctx, r)
		return lastErr == nil && last.Status == status, nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("%v (last status %d, body %.300q)\nbollard log (tail):\n%s", err, last.Status, last.Body, framework.TailLines(s.b.Log(), 30))
		}
		t.Fatalf("%v (last error %v)\nbollard log (tail):\n%s", err, lastErr, framework.TailLines(s.b.Log(), 30))
	}
	return last
}

// do sends r once; a transport error fails the test.
func do(t *testing.T, r framework.Request) *framework.Response {
	t.Helper()
	resp, err := framework.Do(context.Background(), r)
	if err != nil {
		t.Fatalf("%s (SNI %q): %v", r.Host, r.SNI, err)
	}
	return resp
}

func echoOf(t *testing.T, resp *framework.Response) *framework.Echo {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %.300q", resp.Status, resp.Body)
	}
	e, err := resp.Echo()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// forged are client-sent headers that only HAProxy may set.
func forged() http.Header {
	return http.Header{"Ssl-Client-Verify": {"SUCCESS"}, "Ssl-Client-Subject-Dn": {"CN=admin"},
		"Ssl-Client-Issuer-Dn": {"CN=trusted"}, "Ssl-Client-Cert": {"forged"}}
}

// asksForCertificate reports whether HAProxy's handshake for sni asks the
// client for a certificate (Go calls GetClientCertificate only then).
func asksForCertificate(t *testing.T, addr, sni string, roots *x509.CertPool) bool {
	t.Helper()
	asked := false
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, RootCAs: roots, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &tls.Certificate{}, nil
		}})
	if err != nil {
		t.Fatalf("handshake with SNI %s: %v", sni, err)
	}
	_ = conn.Close()
	return asked
}

// certHeader decodes ssl-client-cert (URL-encoded PEM) to DER.
func certHeader(t *testing.T, v string) []byte {
	t.Helper()
	decoded, err := url.QueryUnescape(v)
	if err != nil {
		t.Fatalf("ssl-client-cert %.80q is not URL-encoded: %v", v, err)
	}
	block, rest := pem.Decode([]byte(decoded))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("ssl-client-cert is not one PEM certificate: %.200q", decoded)
	}
	return block.Bytes
}

func pemDER(t *testing.T, p []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(p)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

// forcedStatus sends GET / for host over TLS presenting cert whatever CAs
// the server names: Go's client, given Certificates, sends none that the
// server's list of acceptable CAs does not name.
func forcedStatus(addr, host string, roots *x509.CertPool, cert *tls.Certificate) (int, error) {
	tr := &http.Transport{
		Proxy: nil, DisableKeepAlives: true, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }},
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
