package conformance

import (
	"context"
	"net/http"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
)

func TestHostRules(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-host")
	cluster.Echo(t, ns, "exact", 1)
	cluster.Echo(t, ns, "wild", 1)
	cluster.MustApply(t, ns, framework.IngressYAML("exact", "foo.example", framework.Path{Path: "/", Type: "Prefix", Service: "exact"}))
	cluster.MustApply(t, ns, framework.IngressYAML("wild", "*.foo.example", framework.Path{Path: "/", Type: "Prefix", Service: "wild"}))
	expectService(t, b, "foo.example", "/", "exact")
	t.Run("exact host is served", func(t *testing.T) {
		record(t, "host rules", "an exact host is served by its backend")
		expectService(t, b, "foo.example", "/a", "exact")
	})
	t.Run("non-matching host gets 404", func(t *testing.T) {
		record(t, "host rules", "a host no rule names gets 404")
		expectStatus(t, b, "bar.example", "/", http.StatusNotFound)
	})
	t.Run("wildcard matches exactly one label", func(t *testing.T) {
		record(t, "host rules", "*.foo.example serves bar.foo.example, not baz.bar.foo.example; foo.example is the exact rule")
		expectService(t, b, "bar.foo.example", "/", "wild")
		expectStatus(t, b, "baz.bar.foo.example", "/", http.StatusNotFound)
		expectService(t, b, "foo.example", "/", "exact")
	})
	t.Run("case and port are ignored", func(t *testing.T) {
		record(t, "host rules", "Host matching ignores case and a :port")
		expectService(t, b, "FOO.Example", "/", "exact")
		expectService(t, b, "foo.example:8080", "/", "exact")
		expectService(t, b, "Bar.FOO.example:1", "/", "wild")
	})
}

func TestTLSHost(t *testing.T) {
	ns, b := cluster.Setup(t, "conf-tls")
	cluster.Echo(t, ns, "secure", 1)
	ca := cluster.CreateIssuedTLSSecret(t, ns, "secure", "secure.example")
	cluster.MustApply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure}
spec:
  ingressClassName: bollard
  tls: [{hosts: [secure.example], secretName: secure}]
  rules:
  - host: secure.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: secure, port: {number: 80}}}}
`)
	req := b.TLSRequest("secure.example", "/tls")
	req.RootCA = ca.Pool()
	t.Run("SNI certificate verifies", func(t *testing.T) {
		record(t, "host rules", "TLS: the certificate for the SNI host is served and verifies")
		err := framework.WaitFor(context.Background(), converge, "HTTPS served", func(ctx context.Context) (bool, error) {
			e, err := framework.GetEcho(ctx, req)
			return err == nil && e.Service == "secure", err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("HTTP redirects to HTTPS", func(t *testing.T) {
		record(t, "host rules", "TLS: HTTP to a TLS host redirects to HTTPS, and following it reaches the backend")
		resp := expectStatus(t, b, "secure.example", "/tls?a=b", http.StatusPermanentRedirect)
		if resp == nil || resp.Header.Get("Location") != "https://secure.example/tls?a=b" {
			t.Fatalf("redirect %v", resp)
		}
		follow := b.TLSRequest("secure.example", "/tls?a=b")
		follow.RootCA = ca.Pool()
		e, err := framework.GetEcho(context.Background(), follow)
		if err != nil || e.Service != "secure" || e.Path != "/tls?a=b" {
			t.Errorf("following the redirect: %+v %v", e, err)
		}
	})
	t.Run("HTTP/2 through ALPN", func(t *testing.T) {
		record(t, "proxy behaviour", "HTTP/2 works on the TLS frontend through ALPN")
		resp, err := framework.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("ALPN did not negotiate h2: %+v", resp.TLS)
		}
	})
}
