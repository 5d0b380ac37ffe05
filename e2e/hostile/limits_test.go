package hostile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// issueSpec issues a certificate of spec from the suite's CA and remembers
// its key for the log check.
func (e *env) issueSpec(t *testing.T, spec tlscert.Spec) tlscert.Pair {
	t.Helper()
	pair, err := tlscert.IssueSpec(spec, time.Now(), time.Hour, e.ca)
	if err != nil {
		t.Fatal(err)
	}
	e.keys = append(e.keys, pair.KeyPEM)
	return pair
}

// onDisk: the case's host is in the crt-list on disk, so the config dir
// was written after the change (a name too long for the file system froze
// it while the runtime API already served the host).
func onDisk(next func(context.Context, *env, *hostileCase) error) func(context.Context, *env, *hostileCase) error {
	return func(ctx context.Context, e *env, c *hostileCase) error {
		if err := next(ctx, e, c); err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(e.b.ConfigDir, "certs", "crt-list.txt"))
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), " "+c.host()) {
			return fmt.Errorf("%s is not in the crt-list on disk yet", c.host())
		}
		return nil
	}
}

// limitCases are objects the API server accepts and that HAProxy 2.6
// refused before the model knew its limits: each froze every later
// change for every tenant.
func limitCases(t *testing.T, e *env) []hostileCase {
	host := func(n string) string { return n + ".hostile.example" }
	rsa1024 := e.issueSpec(t, tlscert.Spec{Names: []string{host("secret-rsa-1024")}, Key: tlscert.RSA1024})
	sha1 := e.issueSpec(t, tlscert.Spec{Names: []string{host("secret-sha1")}, Key: tlscert.RSA2048, SHA1: true})
	wild := e.issueSpec(t, tlscert.Spec{Names: []string{host("tls-2100-hosts"), "*." + host("tls-2100-hosts")}})
	longName := strings.Join([]string{"l" + strings.Repeat("s", 59), strings.Repeat("s", 60), strings.Repeat("s", 60), strings.Repeat("s", 58)}, ".")
	long := e.issue(t, "secret-long-name", time.Now(), time.Hour)
	elsewhere := e.issueSpec(t, tlscert.Spec{Names: []string{"elsewhere.example"}})
	withSecret := func(pair tlscert.Pair) func(string) []any {
		return func(n string) []any { return []any{secret(n, pair.CertPEM, pair.KeyPEM), tlsIngress(n)} }
	}
	return []hostileCase{
		{class: "TLS: key or signature the TLS library refuses", name: "secret-rsa-1024", layer: leftOut,
			objects: withSecret(rsa1024), field: "spec.tls[0].secretName", reason: "RSA key of 1024 bits",
			payload: []string{pemBody(rsa1024.KeyPEM)}, probe: servesDefaultCert},
		sha1Case(t, withSecret(sha1), &sha1),
		{class: "TLS: certificate does not cover the host", name: "cert-not-covering", layer: designed,
			objects: withSecret(elsewhere), field: "spec.tls[0].hosts[0]", reason: "does not cover",
			probe: servesDefaultCert},
		{class: "TLS: 2,100 hosts in one spec.tls entry", name: "tls-2100-hosts", layer: harmless, wantNoWarningEvent: true,
			objects: func(n string) []any {
				hosts := []string{host(n)}
				for i := 1; i < 2100; i++ {
					hosts = append(hosts, fmt.Sprintf("h%04d.%s", i, host(n)))
				}
				ing := mt.Ingress("", n, mt.TLS(n, hosts...), mt.Rule(host(n), webPath("Prefix", "/")))
				return []any{secret(n, wild.CertPEM, wild.KeyPEM), ing}
			},
			probe: onDisk(servesCert(&wild))},
		{class: "TLS: 240-character Secret name", name: "secret-long-name", layer: harmless, wantNoWarningEvent: true,
			objects: func(n string) []any {
				ing := mt.Ingress("", n, mt.TLS(longName, host(n)), mt.Rule(host(n), webPath("Prefix", "/")))
				return []any{secret(longName, long.CertPEM, long.KeyPEM), ing}
			},
			probe: onDisk(servesCert(&long))},
	}
}

// testConverges: with every hostile object of the suite still in place, an
// endpoint change and a new Ingress to a new Service (a reload) are served.
func testConverges(t *testing.T, e *env) {
	ctx := context.Background()
	start, before := time.Now(), e.counters(t)
	defer e.quiet(t, start, before)
	if err := cluster.Scale(ctx, e.ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	// The suite's hostile slices carry web's label too: count pods only.
	var pods []string
	err := framework.WaitFor(ctx, 30*time.Second, "2 ready pods of web", func(ctx context.Context) (bool, error) {
		eps, err := cluster.Endpoints(ctx, e.ns, "web")
		pods = nil
		for _, ep := range eps {
			if ep.Pod != "" && ep.Ready && !ep.Terminating {
				pods = append(pods, ep.Pod)
			}
		}
		return err == nil && len(pods) == 2, err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.b.WaitServedByExactly(t, healthyHost, pods, 15*time.Second)
	cluster.Echo(t, e.ns, "late", 1)
	late := mt.Ingress("", "late", mt.Rule("late.hostile.example", mt.Path("Prefix", "/", "late", 80)))
	if err := create(ctx, e.ns, late); err != nil {
		t.Fatal(err)
	}
	e.b.WaitServed(t, "late.hostile.example", "/", "late", 20*time.Second)
	e.results = append(e.results, fmt.Sprintf("all of the above in place | converges | endpoint change and new Service | served in %s", time.Since(start).Round(time.Millisecond)))
}

// sha1Case: a certificate signed with SHA-1 is left out where the HAProxy
// under test (HAPROXY_BIN) refuses it, as Debian bookworm's OpenSSL under
// 2.6 does, and served where its TLS library accepts it (the OpenSSL of
// the newer lines): the model follows the binary's probed policy.
func sha1Case(t *testing.T, objects func(string) []any, pair *tlscert.Pair) hostileCase {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	policy, err := haproxy.ProbeTLSPolicy(ctx, framework.HAProxyBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if policy.AllowSHA1 {
		return hostileCase{class: "TLS: signature the TLS library accepts (SHA-1 here)", name: "secret-sha1", layer: harmless,
			wantNoWarningEvent: true, objects: objects, probe: onDisk(servesCert(pair))}
	}
	return hostileCase{class: "TLS: key or signature the TLS library refuses", name: "secret-sha1", layer: leftOut,
		objects: objects, field: "spec.tls[0].secretName", reason: "SHA-1",
		payload: []string{pemBody(pair.CertPEM)}, probe: servesDefaultCert}
}
