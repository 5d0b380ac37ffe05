package hostile

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	"github.com/bollard-io/bollard/e2e/framework"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// tlsIngress routes name.hostile.example to web with the certificate of
// Secret name.
func tlsIngress(name string) *networkingv1.Ingress {
	host := name + ".hostile.example"
	return mt.Ingress("", name, mt.TLS(name, host), mt.Rule(host, webPath("Prefix", "/")))
}

func secret(name string, cert, key []byte) *corev1.Secret {
	return mt.TLSSecret("", name, cert, key)
}

// issue makes a certificate for name.hostile.example and remembers its key
// for the log check.
func (e *env) issue(t *testing.T, name string, now time.Time, validFor time.Duration) tlscert.Pair {
	t.Helper()
	pair, err := tlscert.Issue([]string{name + ".hostile.example"}, now, validFor, e.ca)
	if err != nil {
		t.Fatal(err)
	}
	e.keys = append(e.keys, pair.KeyPEM)
	return pair
}

// servedCert returns the certificate HAProxy presents for host, and checks
// that the request reached web.
func servedCert(ctx context.Context, e *env, host string) (*x509.Certificate, error) {
	req := e.b.TLSRequest(host, "/")
	req.InsecureSkipVerify = true
	resp, err := framework.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if echo, err := resp.Echo(); err != nil || echo.Service != "web" {
		return nil, fmt.Errorf("https://%s/ not served by web: status %d, %v", host, resp.Status, err)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, fmt.Errorf("no certificate from %s", host)
	}
	return resp.TLS.PeerCertificates[0], nil
}

// servesCert: the case's host is served with pair's certificate.
func servesCert(pair *tlscert.Pair) func(context.Context, *env, *hostileCase) error {
	return func(ctx context.Context, e *env, c *hostileCase) error {
		cert, err := servedCert(ctx, e, c.host())
		if err != nil {
			return err
		}
		want, err := leaf(pair)
		if err != nil {
			return err
		}
		if cert.SerialNumber.Cmp(want.SerialNumber) != 0 {
			return fmt.Errorf("%s served certificate %s (%v), want %s", c.host(), cert.SerialNumber, cert.DNSNames, want.SerialNumber)
		}
		return nil
	}
}

func leaf(p *tlscert.Pair) (*x509.Certificate, error) {
	block, _ := pem.Decode(p.CertPEM)
	if block == nil {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// servesDefaultCert: the host is served, with the generated default
// certificate instead of its broken one.
func servesDefaultCert(ctx context.Context, e *env, c *hostileCase) error {
	cert, err := servedCert(ctx, e, c.host())
	if err != nil {
		return err
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "bollard-default.invalid" {
		return fmt.Errorf("%s served %v, want the default certificate", c.host(), cert.DNSNames)
	}
	return nil
}

// pemBody is a base64 line from the middle of a PEM block: if it shows
// up in a file, that PEM reached the file.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	return lines[len(lines)/2]
}

func slice(name, addressType, addr string, port int32) *discoveryv1.EndpointSlice {
	s := mt.Slice("", "web", name, "http", port, mt.Ready(addr))
	s.AddressType = discoveryv1.AddressType(addressType)
	s.Endpoints[0].Conditions.Terminating = ptr.To(false)
	return s
}

func objectCases(t *testing.T, e *env) []hostileCase {
	now := time.Now()
	good := e.issue(t, "secret-key-mismatch", now, time.Hour)
	other := e.issue(t, "other", now, time.Hour)
	expired := e.issue(t, "secret-expired", now.Add(-72*time.Hour), 24*time.Hour)
	injected := e.issue(t, "secret-injection-after-pem", now, time.Hour)
	crlf := e.issue(t, "secret-crlf", now, time.Hour)
	malformedKey := e.issue(t, "secret-malformed-pem", now, time.Hour)
	huge := e.issue(t, "secret-huge", now, time.Hour)
	toCRLF := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), "\n", "\r\n")) }
	const invalid = "invalid certificate or key"
	withSecret := func(cert, key []byte) func(string) []any {
		return func(n string) []any { return []any{secret(n, cert, key), tlsIngress(n)} }
	}
	hugeCert := append(append([]byte{}, huge.CertPEM...), strings.Repeat("pwn-huge", 600<<10/8)...)
	return []hostileCase{
		{class: "Secret: control characters, malformed PEM", name: "secret-malformed-pem", layer: leftOut,
			objects: withSecret([]byte("-----BEGIN CERTIFICATE-----\npwn-pem\x00\r\n-----END CERTIFICATE-----\n"), malformedKey.KeyPEM),
			field:   "spec.tls[0].secretName", reason: invalid, payload: []string{"pwn-pem", pemBody(malformedKey.KeyPEM)}, probe: servesDefaultCert},
		{class: "Secret: control characters, malformed PEM", name: "secret-injection-after-pem", layer: harmless, wantNoWarningEvent: true,
			objects: withSecret(append(append([]byte{}, injected.CertPEM...), "\r\n\x00pwn-inject %[env(HOME)] ${HOME}\nbind :1\n\n"...), injected.KeyPEM),
			payload: []string{"pwn-inject", "bind :1", "${HOME}"}, probe: servesCert(&injected)},
		{class: "Secret: control characters, malformed PEM", name: "secret-crlf", layer: harmless, wantNoWarningEvent: true,
			objects: withSecret(toCRLF(crlf.CertPEM), toCRLF(crlf.KeyPEM)), payload: []string{"\r"}, probe: servesCert(&crlf)},
		{class: "Secret: key does not match", name: "secret-key-mismatch", layer: leftOut,
			objects: withSecret(good.CertPEM, other.KeyPEM), field: "spec.tls[0].secretName", reason: invalid,
			payload: []string{pemBody(good.CertPEM), pemBody(other.KeyPEM)}, probe: servesDefaultCert},
		{class: "Secret: expired certificate", name: "secret-expired", layer: designed,
			objects: withSecret(expired.CertPEM, expired.KeyPEM), field: "spec.tls[0].secretName", reason: "expired at",
			probe: servesCert(&expired)},
		{class: "Secret: huge blob", name: "secret-huge", layer: leftOut,
			objects: withSecret(hugeCert, huge.KeyPEM), field: "spec.tls[0].secretName", reason: "the limit is",
			payload: []string{"pwn-hugepwn-huge", pemBody(huge.KeyPEM)}, probe: servesDefaultCert},
		{class: "EndpointSlice: wrong family or bad address", name: "slice-wrong-family", layer: byAPIServer,
			objects: func(n string) []any { return []any{slice(n, "IPv4", "2001:db8::1", 8080)} },
			field:   "endpoints[0].addresses", modelField: "endpoints[0].addresses[0]"},
		{class: "EndpointSlice: wrong family or bad address", name: "slice-unspecified", layer: byAPIServer,
			objects: func(n string) []any { return []any{slice(n, "IPv4", "0.0.0.0", 8080)} },
			field:   "endpoints[0].addresses[0]"},
		{class: "EndpointSlice: invalid port", name: "slice-port-70000", layer: leftOut, kind: "EndpointSlice",
			objects: func(n string) []any { return []any{slice(n, "IPv4", "198.18.8.250", 70000)} },
			field:   "ports[0].port", reason: "out of range", payload: []string{"198.18.8.250"}},
		{class: "EndpointSlice: invalid port", name: "slice-port-0", layer: leftOut, kind: "EndpointSlice",
			objects: func(n string) []any { return []any{slice(n, "IPv4", "198.18.8.251", 0)} },
			field:   "ports[0].port", reason: "out of range", payload: []string{"198.18.8.251"}},
		{class: "namespace not watched", name: "unwatched-ingress", layer: unwatched, namespace: func(e *env) string { return e.other },
			objects: func(n string) []any { return []any{ingress(n, n+".hostile.example", webPath("Prefix", "/"))} },
			payload: []string{"unwatched-ingress"}},
		{class: "namespace not watched", name: "unwatched-hostile", layer: unwatched, namespace: func(e *env) string { return e.other },
			objects: func(n string) []any {
				return []any{ingress(n, n+".hostile.example", webPath("Prefix", "/pwn-uw\nhttp-request deny"))}
			},
			payload: []string{"pwn-uw", "unwatched-hostile"}},
	}
}
