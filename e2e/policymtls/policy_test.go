package policymtls

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestClientCertificates: "on" answers 403 unless the request comes on a
// connection whose SNI is the request's host and that presented a
// certificate of the CA; "optional" passes the verdict to the backend in
// headers a client cannot forge; a host without the policy is not asked
// for a certificate. A verify change is a map update; a CA change one
// reload.
func TestClientCertificates(t *testing.T) {
	s := newSetup(t)
	aliceDER := pemDER(t, s.alicePEM)
	addr := s.b.TLSRequest(secureHost, "/").Addr

	t.Run("on: no certificate is 403", func(t *testing.T) {
		if got := do(t, s.request(secureHost, "", nil)).Status; got != http.StatusForbidden {
			t.Errorf("status %d, want 403", got)
		}
	})
	t.Run("on: a certificate of another CA fails the handshake", func(t *testing.T) {
		// A client that sends it anyway; Go's would send none (403 above).
		got, err := forcedStatus(addr, secureHost, s.serverCA, s.mallory)
		if err == nil {
			t.Fatalf("status %d: want a TLS failure (verify optional refuses a certificate the CA did not sign)", got)
		}
		t.Logf("as documented, the handshake fails: %v", err)
		if got := do(t, s.request(secureHost, "", s.mallory)).Status; got != http.StatusForbidden {
			t.Errorf("Go's client, which sends no certificate the server's CA list does not name: status %d, want 403", got)
		}
	})
	t.Run("on: a valid certificate passes", func(t *testing.T) {
		r := s.request(secureHost, "", s.alice)
		r.Header = forged()
		e := echoOf(t, do(t, r))
		if got := e.Header("ssl-client-verify"); got != "SUCCESS" {
			t.Errorf("ssl-client-verify %q, want SUCCESS", got)
		}
		if got := e.Header("ssl-client-subject-dn"); !strings.Contains(got, "CN=alice") || strings.Contains(got, "admin") {
			t.Errorf("ssl-client-subject-dn %q, want alice's", got)
		}
		if got := certHeader(t, e.Header("ssl-client-cert")); !bytes.Equal(got, aliceDER) {
			t.Error("ssl-client-cert is not alice's certificate")
		}
	})
	t.Run("on: domain fronting is 403", func(t *testing.T) {
		// open's handshake asks for no certificate; partner's asks for one
		// of the same CA, but for partner, not for secure.
		for _, sni := range []string{openHost, partnerHost} {
			if got := do(t, s.request(secureHost, sni, s.alice)).Status; got != http.StatusForbidden {
				t.Errorf("SNI %s, Host %s, alice's certificate: status %d, want 403", sni, secureHost, got)
			}
		}
		if got := do(t, s.b.Request(secureHost, "/")).Status; got != http.StatusForbidden {
			t.Errorf("plain HTTP: status %d, want 403", got)
		}
	})
	t.Run("optional: no certificate passes with NONE", func(t *testing.T) {
		r := s.request(partnerHost, "", nil)
		r.Header = forged()
		e := echoOf(t, do(t, r))
		if got := e.Header("ssl-client-verify"); got != "NONE" {
			t.Errorf("ssl-client-verify %q, want NONE (the client's SUCCESS replaced)", got)
		}
		for _, h := range []string{"ssl-client-subject-dn", "ssl-client-issuer-dn", "ssl-client-cert"} {
			if got := e.Header(h); got != "" {
				t.Errorf("%s %q reached the backend, want none", h, got)
			}
		}
	})
	t.Run("optional: a valid certificate is SUCCESS", func(t *testing.T) {
		e := echoOf(t, do(t, s.request(partnerHost, "", s.alice)))
		if got := e.Header("ssl-client-verify"); got != "SUCCESS" {
			t.Errorf("ssl-client-verify %q, want SUCCESS", got)
		}
		if got := e.Header("ssl-client-issuer-dn"); !strings.Contains(got, "CN=Bollard test CA") {
			t.Errorf("ssl-client-issuer-dn %q, want the client CA", got)
		}
		if got := certHeader(t, e.Header("ssl-client-cert")); !bytes.Equal(got, aliceDER) {
			t.Error("ssl-client-cert is not alice's certificate")
		}
	})
	t.Run("optional: a certificate for another SNI is NONE", func(t *testing.T) {
		e := echoOf(t, do(t, s.request(partnerHost, secureHost, s.alice)))
		if got := e.Header("ssl-client-verify"); got != "NONE" {
			t.Errorf("ssl-client-verify %q, want NONE", got)
		}
	})
	t.Run("a host without the policy is not asked", func(t *testing.T) {
		if asksForCertificate(t, addr, openHost, s.serverCA) {
			t.Errorf("the handshake for %s asks for a client certificate", openHost)
		}
		if !asksForCertificate(t, addr, secureHost, s.serverCA) {
			t.Errorf("the handshake for %s asks for no client certificate", secureHost)
		}
		if e := echoOf(t, do(t, s.request(openHost, "", nil))); e.Service != "open" {
			t.Errorf("served by %s, want open", e.Service)
		}
	})
	s.b.AssertReloads(t, s.startReloads, 0, "requests only")

	t.Run("on → optional is a map update", func(t *testing.T) {
		start := s.b.Reloads(t)
		cluster.MustApply(t, s.ns, ingressYAML("secure", secureHost, "app", map[string]string{"auth-tls-secret": "client-ca", "ssl-redirect": "false", "auth-tls-verify-client": "optional"}))
		s.waitStatus(t, s.request(secureHost, "", nil), http.StatusOK)
		s.b.AssertReloads(t, start, 0, "auth-tls-verify-client on → optional")
	})
	t.Run("a new CA is one reload", func(t *testing.T) {
		start := s.b.Reloads(t)
		secret, err := cluster.Client.CoreV1().Secrets(s.ns).Get(context.Background(), "client-ca", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		secret.Data["ca.crt"] = s.otherCA.Pair.CertPEM
		if _, err := cluster.Client.CoreV1().Secrets(s.ns).Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// partner is optional: wait for the verdict, not for a 200.
		err = framework.WaitFor(context.Background(), 30*time.Second, "mallory's certificate verifies", func(ctx context.Context) (bool, error) {
			resp, err := framework.Do(ctx, s.request(partnerHost, "", s.mallory))
			if err != nil || resp.Status != http.StatusOK {
				return false, nil
			}
			e, err := resp.Echo()
			return err == nil && e.Header("ssl-client-verify") == "SUCCESS", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := forcedStatus(addr, partnerHost, s.serverCA, s.alice); err == nil {
			t.Errorf("alice's certificate of the old CA: status %d, want a TLS failure", got)
		}
		s.b.AssertReloads(t, start, 1, "ca.crt of the CA Secret changed")
	})
}
