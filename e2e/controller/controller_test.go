package controller

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

func TestHostPathDefaultAndNotFound(t *testing.T) {
	ns, b := setup(t, "routing")
	echo(t, ns, "web", 1)
	echo(t, ns, "api", 1)
	echo(t, ns, "fallback", 1)
	apply(t, ns, ingress("web", "web.example", "/", "Prefix", "web"))
	apply(t, ns, ingress("api", "web.example", "/api", "Prefix", "api"))
	apply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback}
spec:
  ingressClassName: bollard
  defaultBackend: {service: {name: fallback, port: {number: 80}}}
`)
	b.WaitServed(t, "web.example", "/", "web", 20*time.Second)
	b.WaitServed(t, "web.example", "/api/v1", "api", 20*time.Second)
	b.WaitServed(t, "other.example", "/x", "fallback", 20*time.Second)
	if err := cluster.Client.NetworkingV1().Ingresses(ns).Delete(context.Background(), "fallback", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := framework.WaitFor(context.Background(), 20*time.Second, "404 for an unknown host", func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, b.Request("other.example", "/x"))
		return err == nil && resp.Status == http.StatusNotFound && resp.Header.Get("Server") != "" && resp.Header.Get("Date") != "", err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	ns, b := setup(t, "tls")
	echo(t, ns, "secure", 1)
	ca := cluster.CreateIssuedTLSSecret(t, ns, "secure-tls", "secure.example")
	apply(t, ns, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure}
spec:
  ingressClassName: bollard
  tls: [{hosts: [secure.example], secretName: secure-tls}]
  rules:
  - host: secure.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: secure, port: {number: 80}}}}
`)
	req := b.TLSRequest("secure.example", "/hello")
	req.RootCA = ca.Pool()
	err := framework.WaitFor(context.Background(), 20*time.Second, "HTTPS with the SNI certificate", func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, req)
		return err == nil && e.Service == "secure" && e.Header("X-Forwarded-Proto") == "https", err
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := framework.Do(context.Background(), b.Request("secure.example", "/hello?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://secure.example/hello?x=1" {
		t.Errorf("plain HTTP to a TLS host: %d Location %q, want 308 to https", resp.Status, resp.Header.Get("Location"))
	}
}

// TestEndpointChangesNeedNoReload scales 1 → 5 → 2: every ready pod gets
// traffic, removed pods get none, and HAProxy never reloads.
func TestEndpointChangesNeedNoReload(t *testing.T) {
	ns, b := setup(t, "scale")
	echo(t, ns, "web", 1)
	apply(t, ns, ingress("web", "scale.example", "/", "Prefix", "web"))
	b.WaitServed(t, "scale.example", "/", "web", 20*time.Second)
	reloads := b.Reloads(t)
	for _, n := range []int32{5, 2} {
		if err := cluster.Scale(context.Background(), ns, "web", n); err != nil {
			t.Fatal(err)
		}
		eps, err := cluster.ReadyEndpoints(context.Background(), ns, "web", int(n), 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b.WaitServedByExactly(t, "scale.example", framework.Pods(eps), 20*time.Second)
	}
	if got := b.Reloads(t); got != reloads {
		t.Errorf("endpoint changes caused %d reloads", got-reloads)
	}
	t.Logf("reloads across 1 → 5 → 2: %d", b.Reloads(t)-reloads)
}

// TestNewHostAndNewService: a new host on an existing Service is a runtime
// map update. A new Service needs exactly one reload, except on HAProxy
// 3.4+, which creates its backend at run time; there a deleted Service's
// backend is deleted at run time too.
func TestNewHostAndNewService(t *testing.T) {
	ns, b := setup(t, "newhost")
	echo(t, ns, "one", 1)
	echo(t, ns, "two", 1)
	apply(t, ns, ingress("one", "one.example", "/", "Prefix", "one"))
	b.WaitServed(t, "one.example", "/", "one", 20*time.Second)
	start := b.Reloads(t)
	apply(t, ns, ingress("one-more", "more.example", "/", "Prefix", "one"))
	b.WaitServed(t, "more.example", "/", "one", 20*time.Second)
	if got := b.Reloads(t) - start; got != 0 {
		t.Errorf("a new host to an existing Service caused %d reloads, want 0", got)
	}

	features := b.Features(t)
	wantReloads := 1
	if features.RuntimeBackends {
		wantReloads = 0
	}
	backend := ns + "_two_80"
	apply(t, ns, ingress("two", "two.example", "/", "Prefix", "two"))
	b.WaitServed(t, "two.example", "/", "two", 20*time.Second)
	time.Sleep(500 * time.Millisecond) // let any extra reload show
	if got := b.Reloads(t) - start; got != wantReloads {
		t.Errorf("HAProxy %s: a new Service caused %d reloads, want exactly %d", features.Version, got, wantReloads)
	}
	if !b.HasBackend(t, backend) {
		t.Fatalf("show backend lacks %s: %v", backend, b.Backends(t))
	}

	// The Service and its Ingress go: the route stops at once, and on 3.4
	// the backend leaves HAProxy, still without a reload.
	ctx := context.Background()
	if err := cluster.Client.NetworkingV1().Ingresses(ns).Delete(ctx, "two", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().Services(ns).Delete(ctx, "two", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for features.RuntimeBackends && b.HasBackend(t, backend) {
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy %s still has backend %s 20s after its Service was deleted", features.Version, backend)
		}
		time.Sleep(50 * time.Millisecond)
	}
	err := framework.WaitFor(ctx, 20*time.Second, "404 for the deleted route", func(ctx context.Context) (bool, error) {
		resp, err := framework.Do(ctx, b.Request("two.example", "/"))
		return err == nil && resp.Status == http.StatusNotFound, err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.WaitServed(t, "one.example", "/", "one", 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := b.Reloads(t) - start; got != wantReloads {
		t.Errorf("HAProxy %s: after deleting the Service, %d reloads in all, want %d", features.Version, got, wantReloads)
	}
	t.Logf("HAProxy %s (%v): %d reloads for a new and a deleted Service", features.Version, features.List(), b.Reloads(t)-start)
	if t.Failed() {
		t.Logf("bollard log:\n%s", b.Log())
	}
}

// TestBadIngressIsLeftOut: a hostile path is rejected with a Warning Event;
// the other routes keep serving and HAProxy keeps its PID and config.
func TestBadIngressIsLeftOut(t *testing.T) {
	ns, b := setup(t, "hostile")
	echo(t, ns, "web", 1)
	apply(t, ns, ingress("good", "good.example", "/", "Prefix", "web"))
	b.WaitServed(t, "good.example", "/", "web", 20*time.Second)
	pid, err := b.MasterPID()
	if err != nil {
		t.Fatal(err)
	}
	cfgBefore, _ := os.ReadFile(filepath.Join(b.ConfigDir, "haproxy.cfg"))
	reloads := b.Reloads(t)
	apply(t, ns, ingress("evil", "evil.example", `/x%[env(HOME)]`, "Prefix", "web"))
	if err := cluster.WaitWarning(context.Background(), ns, "evil", "spec.rules[0].http.paths[0].path", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	b.WaitServed(t, "good.example", "/", "web", 5*time.Second)
	if resp, err := framework.Do(context.Background(), b.Request("evil.example", "/x")); err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("the hostile Ingress must not route: %v %v", resp, err)
	}
	if got, _ := b.MasterPID(); got != pid {
		t.Errorf("HAProxy master PID changed from %d to %d", pid, got)
	}
	cfgAfter, _ := os.ReadFile(filepath.Join(b.ConfigDir, "haproxy.cfg"))
	if string(cfgAfter) != string(cfgBefore) || b.Reloads(t) != reloads {
		t.Errorf("a rejected Ingress changed haproxy.cfg or reloaded HAProxy")
	}
	entries, _ := os.ReadDir(filepath.Join(b.ConfigDir, "maps"))
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(b.ConfigDir, "maps", e.Name()))
		if strings.Contains(string(data), "env(HOME)") || strings.Contains(string(data), "evil") {
			t.Errorf("the payload reached %s", e.Name())
		}
	}
}

// TestClassesAndStatus: an Ingress of another class is ignored and gets no
// status; ours get the LoadBalancer Service's address.
func TestClassesAndStatus(t *testing.T) {
	framework.Need(t, cluster)
	ensureClass(t)
	ns := cluster.CreateNamespace(t, "status")
	_, err := cluster.Client.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "lb"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(context.Background(), "", "-n", ns, "patch", "service", "lb", "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"198.18.4.250"}]}}}`); err != nil {
		t.Fatal(err)
	}
	b := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: []string{"--publish-service", ns + "/lb"}})
	echo(t, ns, "web", 1)
	apply(t, ns, ingress("ours", "ours.example", "/", "Prefix", "web"))
	apply(t, ns, strings.Replace(ingress("foreign", "foreign.example", "/", "Prefix", "web"), "ingressClassName: bollard", "ingressClassName: nginx", 1))
	b.WaitServed(t, "ours.example", "/", "web", 20*time.Second)
	err = framework.WaitFor(context.Background(), 20*time.Second, "status of ours", func(ctx context.Context) (bool, error) {
		ing, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(ctx, "ours", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		lb := ing.Status.LoadBalancer.Ingress
		return len(lb) == 1 && lb[0].IP == "198.18.4.250", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := framework.Do(context.Background(), b.Request("foreign.example", "/")); err != nil || resp.Status != http.StatusNotFound {
		t.Errorf("a foreign Ingress must not route: %v %v", resp, err)
	}
	foreign, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(context.Background(), "foreign", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(foreign.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("a foreign Ingress got status %v", foreign.Status.LoadBalancer.Ingress)
	}
}

// TestRestartWithoutChangesDoesNotReload kills the controller (HAProxy
// keeps running) and starts it again: it adopts HAProxy with no reload.
func TestRestartWithoutChangesDoesNotReload(t *testing.T) {
	ns, b := setup(t, "restart")
	echo(t, ns, "web", 3)
	apply(t, ns, ingress("web", "restart.example", "/", "Prefix", "web"))
	b.WaitServed(t, "restart.example", "/", "web", 20*time.Second)
	// Move endpoints around at run time first, so the slots differ from a fresh render.
	if err := cluster.Scale(context.Background(), ns, "web", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ReadyEndpoints(context.Background(), ns, "web", 1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// A new Service too: on 3.4 its backend is created at run time, and
	// the restarted controller must still find HAProxy's sections to be
	// those of the files.
	echo(t, ns, "api", 1)
	apply(t, ns, ingress("api", "api.restart.example", "/", "Prefix", "api"))
	b.WaitServed(t, "api.restart.example", "/", "api", 20*time.Second)
	time.Sleep(time.Second)
	reloads := b.Reloads(t)
	pid, _ := b.MasterPID()
	b.Kill(t)
	b.WaitServed(t, "restart.example", "/", "web", 5*time.Second) // HAProxy serves alone
	b.Start(t)
	b.WaitServed(t, "restart.example", "/", "web", 5*time.Second)
	b.WaitServed(t, "api.restart.example", "/", "api", 5*time.Second)
	time.Sleep(time.Second)
	if got := b.Reloads(t); got != reloads {
		t.Errorf("restarting the controller with nothing changed caused %d reloads\n%s", got-reloads, b.Log())
	}
	if got, _ := b.MasterPID(); got != pid {
		t.Errorf("HAProxy was replaced (PID %d → %d)", pid, got)
	}
	// And it still follows endpoint changes with the adopted slots.
	if err := cluster.Scale(context.Background(), ns, "web", 2); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(context.Background(), ns, "web", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		err := framework.WaitFor(context.Background(), 10*time.Second, "traffic to "+ep.Pod, func(ctx context.Context) (bool, error) {
			e, err := framework.GetEcho(ctx, b.Request("restart.example", "/"))
			return err == nil && e.Pod == ep.Pod, err
		})
		if err != nil {
			t.Error(err)
		}
	}
}

// TestTwoControllersWriteIdenticalConfig: two controllers with the same
// flags write the same files; only the listen address and the runtime
// directory, which each replica has its own, may differ.
func TestTwoControllersWriteIdenticalConfig(t *testing.T) {
	framework.Need(t, cluster)
	ensureClass(t)
	ns := cluster.CreateNamespace(t, "replicas")
	pair, err := tlscert.SelfSigned([]string{"default.example"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cluster.CreateTLSSecret(t, ns, "default-tls", pair.CertPEM, pair.KeyPEM)
	defaultCert := []string{"--default-ssl-certificate", ns + "/default-tls"}
	first := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Args: defaultCert})
	echo(t, ns, "web", 2)
	apply(t, ns, ingress("web", "replica.example", "/", "Prefix", "web"))
	first.WaitServed(t, "replica.example", "/", "web", 20*time.Second)
	second := cluster.StartBollard(t, framework.BollardOptions{Namespace: ns, Bind: "127.0.0.2",
		Args: append([]string{"--http-port", fmt.Sprint(first.HTTP), "--https-port", fmt.Sprint(first.HTTPS), "--stats-port", fmt.Sprint(first.Stats)}, defaultCert...)})
	second.HTTP, second.HTTPS, second.Stats = first.HTTP, first.HTTPS, first.Stats
	second.WaitServed(t, "replica.example", "/", "web", 20*time.Second)
	hidden := func(name string) bool { return strings.HasPrefix(name, ".") }
	a, bfiles := framework.ReadFiles(t, first.ConfigDir, hidden), framework.ReadFiles(t, second.ConfigDir, hidden)
	if len(a) != len(bfiles) {
		t.Fatalf("file sets differ: %d vs %d", len(a), len(bfiles))
	}
	for name, data := range a {
		if name == "fallback.pem" {
			continue // each replica's own generated key, unused with --default-ssl-certificate
		}
		other := bfiles[name]
		if name == "maps/epoch.map" {
			// The hash of each replica's own haproxy.cfg, which differs in
			// the lines above.
			for dir, files := range map[string]map[string]string{first.ConfigDir: a, second.ConfigDir: bfiles} {
				if want := render.ConfigHashKey + " " + render.StructureHash([]byte(files["haproxy.cfg"])) + "\n"; files[name] != want {
					t.Errorf("%s/%s is %q, want %q", dir, name, files[name], want)
				}
			}
			continue
		}
		if name == "haproxy.cfg" {
			other = strings.ReplaceAll(strings.ReplaceAll(other, second.RuntimeDir, first.RuntimeDir), "127.0.0.2:", "127.0.0.1:")
		}
		if data != other {
			t.Errorf("%s differs between the two controllers", name)
		}
	}
}

// TestBackgroundBuilds runs every full build off the apply loop
// (--background-build-after=1ns, as at 10k Ingresses): new hosts and
// endpoint changes that arrive together all converge, with no reload, and
// the passes that adopted a background build say so in the log.
func TestBackgroundBuilds(t *testing.T) {
	ns, b := setup(t, "background", "--background-build-after=1ns")
	echo(t, ns, "web", 1)
	apply(t, ns, ingress("web", "bg.example", "/", "Prefix", "web"))
	b.WaitServed(t, "bg.example", "/", "web", 20*time.Second)
	start := b.Reloads(t)
	ctx := context.Background()
	if err := cluster.Scale(ctx, ns, "web", 3); err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for i := range 6 {
		host := fmt.Sprintf("bg-%d.example", i)
		hosts = append(hosts, host)
		apply(t, ns, ingress(fmt.Sprintf("web-%d", i), host, "/", "Prefix", "web"))
	}
	eps, err := cluster.ReadyEndpoints(ctx, ns, "web", 3, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range append(hosts, "bg.example") {
		b.WaitServedByExactly(t, host, framework.Pods(eps), 20*time.Second)
	}
	b.AssertReloads(t, start, 0, "new hosts and endpoint changes with builds in the background")
	if !strings.Contains(b.Log(), "model_path=background") {
		t.Errorf("no pass applied a background build; log:\n%s", b.Log())
	}
}
