package controller

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// A runtime batch that failed half way (the new certificate is in
// HAProxy's store, committed, but on no crt-list line; an endpoint moved)
// wedged every later sync: the batch planned from memory starts with `new
// ssl cert`, which HAProxy refuses. Planned from what HAProxy reports, the
// next sync completes the change, on the real HAProxy, and a read-back
// after it finds nothing left to do.
func TestNextSyncConvergesFromWhatHAProxyHas(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a, b := haproxytest.NewBackend(t, "A"), haproxytest.NewBackend(t, "B")
	secure, err := tlscert.SelfSigned([]string{"secure.test"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mopts := loopbackModelOptions(t)
	snapshot := func(backend haproxytest.Backend, ingresses ...*networkingv1.Ingress) model.Snapshot {
		return model.Snapshot{
			Ingresses:      ingresses,
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", backend.Port, mt.Ready(backend.Host))},
			Secrets:        []*corev1.Secret{mt.TLSSecret("ns", "secure", secure.CertPEM, secure.KeyPEM)},
		}
	}
	web := mt.Ingress("ns", "web", mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))
	loaded, _ := model.Build(snapshot(a, web), mopts)
	wanted, _ := model.Build(snapshot(b, web, mt.Ingress("ns", "secure", mt.TLS("secure", "secure.test"),
		mt.Rule("secure.test", mt.Path("Prefix", "/", "web", 80)))), mopts)
	files, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The batch planned from the loaded config fails half way: everything
	// before the crt-list line runs.
	u := newRunning(&loaded).diff(&wanted, c, haproxy.Features{})
	if u.reload != "" {
		t.Fatalf("want a runtime update, got reload %q", u.reload)
	}
	half := slices.IndexFunc(u.commands, func(cmd haproxy.Command) bool { return strings.HasPrefix(cmd.String(), "add ssl crt-list") })
	if half < 1 {
		t.Fatalf("no crt-list command in:\n%s", commandLines(u))
	}
	if err := c.runtime.Execute(ctx, u.commands[:half]...); err != nil {
		t.Fatal(err)
	}
	// Planned from memory again: refused at once.
	if err := c.runtime.Execute(ctx, newRunning(&loaded).diff(&wanted, c, haproxy.Features{}).commands...); err == nil ||
		!strings.Contains(err.Error(), "new ssl cert") {
		t.Fatalf("re-planning from memory: %v, want the refused new ssl cert", err)
	}

	r, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	if !r.storeOnly[wanted.Certificates[0].FileName] {
		t.Errorf("read-back does not see %s in the store only: %v", wanted.Certificates[0].FileName, r.storeOnly)
	}
	next := r.diff(&wanted, c, haproxy.Features{})
	if next.reload != "" {
		t.Fatalf("after the read-back: reload %q", next.reload)
	}
	if err := c.runtime.Execute(ctx, next.commands...); err != nil {
		t.Fatalf("the sync planned from HAProxy's state failed: %v\n%s", err, commandLines(next))
	}

	// Served as wanted: the new host with its certificate, the moved endpoint.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "secure.test", InsecureSkipVerify: true}}}
	resp := haproxytest.Do(t, client, http.MethodGet, inst.HTTPS, "secure.test", "/x")
	if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "B ") {
		t.Errorf("https://secure.test/x: %d %q, want 200 from B", resp.Status, resp.Body)
	}
	if names := resp.TLS.PeerCertificates[0].DNSNames; !slices.Equal(names, []string{"secure.test"}) {
		t.Errorf("secure.test served the certificate of %v", names)
	}
	if resp := haproxytest.Get(t, inst.HTTP, "web.test", "/"); resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "B ") {
		t.Errorf("http://web.test/: %d %q, want 200 from B", resp.Status, resp.Body)
	}
	// Converged: read back again as a later resync does, once the files of
	// the wanted config are on disk (same structure), and nothing differs.
	wantedFiles, err := render.Render(&wanted, ropts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.readBack(ctx, &wanted, wantedFiles)
	if err != nil {
		t.Fatal(err)
	}
	if rest := again.diff(&wanted, c, haproxy.Features{}); rest.reload != "" || len(rest.commands) != 0 {
		t.Errorf("not converged: reload %q, commands:\n%s", rest.reload, commandLines(rest))
	}
}

// loopbackModelOptions are model options for tests whose backends listen on
// loopback.
func loopbackModelOptions(t *testing.T) model.Options {
	t.Helper()
	fallback, err := tlscert.SelfSigned([]string{"default.invalid"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mopts := model.DefaultOptions()
	mopts.FallbackCertificate = fallback.Combined()
	mopts.EndpointCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	return mopts
}

// socketController is a Controller with only what talks to the sockets
// of the HAProxy that haproxytest.Start runs with ropts.
func socketController(t *testing.T, ropts render.Options) *Controller {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	c := &Controller{
		runtime: haproxy.NewRuntime(filepath.Join(ropts.RuntimeDir, render.AdminSocket), logger),
		master:  haproxy.NewMaster(filepath.Join(ropts.RuntimeDir, render.MasterSocket), logger),
		metrics: newMetrics(),
		epoch:   newEpochToken(),
		log:     logger,
	}
	t.Cleanup(func() { c.runtime.Close(); c.master.Close() })
	return c
}

// The per-request option maps (timeout-server, timeout-tunnel, body size)
// are read back from HAProxy like the routing maps: after a batch of
// option changes failed half way, the next sync is planned from what
// HAProxy holds, completes the change, and a read-back after it finds
// nothing left to do.
func TestOptionMapsConvergeFromWhatHAProxyHas(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a := haproxytest.NewBackend(t, "A")
	mopts := loopbackModelOptions(t)
	snapshot := func(annotations map[string]string) model.Snapshot {
		web := mt.Ingress("ns", "web", mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))
		for k, v := range annotations {
			mt.Annotation(k, v)(web)
		}
		return model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{web},
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: []*discoveryv1.EndpointSlice{mt.Slice("ns", "web", "web-1", "http", a.Port, mt.Ready(a.Host))},
		}
	}
	loaded, _ := model.Build(snapshot(map[string]string{"bollard.io/timeout-server": "5s", "bollard.io/proxy-body-size": "1k"}), mopts)
	wanted, _ := model.Build(snapshot(map[string]string{"bollard.io/timeout-server": "1s", "bollard.io/timeout-tunnel": "30s"}), mopts)
	files, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if got := postStatus(t, inst.HTTP, "web.test", 2000); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST of 2000 bytes with proxy-body-size 1k loaded: %d, want 413", got)
	}
	u := newRunning(&loaded).diff(&wanted, c, haproxy.Features{})
	if u.reload != "" || len(u.commands) != 3 {
		t.Fatalf("want three map commands, got reload %q:\n%s", u.reload, commandLines(u))
	}
	if err := c.runtime.Execute(ctx, u.commands[:1]...); err != nil {
		t.Fatal(err)
	}
	r, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	next := r.diff(&wanted, c, haproxy.Features{})
	if next.reload != "" || len(next.commands) != 2 {
		t.Fatalf("planned from HAProxy's state: want the two commands left, got reload %q:\n%s", next.reload, commandLines(next))
	}
	if err := c.runtime.Execute(ctx, next.commands...); err != nil {
		t.Fatalf("the sync planned from HAProxy's state failed: %v\n%s", err, commandLines(next))
	}
	again, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	if rest := again.diff(&wanted, c, haproxy.Features{}); rest.reload != "" || len(rest.commands) != 0 {
		t.Errorf("not converged: reload %q, commands:\n%s", rest.reload, commandLines(rest))
	}
	if got := again.cfg.Maps; !slices.Equal(got.ServerTimeouts, wanted.Maps.ServerTimeouts) ||
		!slices.Equal(got.TunnelTimeouts, wanted.Maps.TunnelTimeouts) || len(got.BodySizes) != 0 {
		t.Errorf("HAProxy holds %+v, want %+v", got, wanted.Maps)
	}
	// The body limit left with its map entry: the 2 KB body passes now.
	if got := postStatus(t, inst.HTTP, "web.test", 2000); got != http.StatusOK {
		t.Errorf("POST of 2000 bytes after the 1k limit was removed: %d, want 200", got)
	}
}

// postStatus sends a POST of size bytes (with Content-Length) to base
// with Host host and returns the status.
func postStatus(t *testing.T, base, host string, size int) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(strings.Repeat("x", size)))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A run of server commands goes in one write, so when HAProxy refuses one
// of them the others still take effect. The next sync, planned from what
// HAProxy then reports, must converge all the same, on the real HAProxy.
func TestPipelinedRunRefusedHalfWayConverges(t *testing.T) {
	dir := t.TempDir()
	ropts := haproxytest.Options(t, dir)
	a, b, c2 := haproxytest.NewBackend(t, "A"), haproxytest.NewBackend(t, "B"), haproxytest.NewBackend(t, "C")
	mopts := loopbackModelOptions(t)
	snapshot := func(backends ...haproxytest.Backend) model.Snapshot {
		// The test backends share one address and differ by port: one
		// slice per backend.
		var eps []*discoveryv1.EndpointSlice
		for _, be := range backends {
			eps = append(eps, mt.Slice("ns", "web", "web-"+strings.ToLower(be.Name), "http", be.Port, mt.Ready(be.Host)))
		}
		return model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{mt.Ingress("ns", "web", mt.Rule("web.test", mt.Path("Prefix", "/", "web", 80)))},
			Services:       []*corev1.Service{mt.Service("ns", "web", mt.ServicePort("http", 80))},
			EndpointSlices: eps,
		}
	}
	loaded, _ := model.Build(snapshot(a), mopts)
	wanted, _ := model.Build(snapshot(b, c2), mopts)
	files, err := render.Render(&loaded, ropts)
	if err != nil {
		t.Fatal(err)
	}
	inst := haproxytest.Start(t, dir, files, ropts)
	c := socketController(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	u := newRunning(&loaded).diff(&wanted, c, haproxy.Features{})
	if u.reload != "" || len(u.commands) < 2 {
		t.Fatalf("want a runtime update, got reload %q, commands:\n%s", u.reload, commandLines(u))
	}
	// A refused command second in the first run of server commands: the
	// first and those after it in the run take effect, Execute fails.
	refused, err := haproxy.SetServerWeight(wanted.Backends[0].Name, "slot99", 1)
	if err != nil {
		t.Fatal(err)
	}
	cmds := slices.Insert(slices.Clone(u.commands), 1, refused)
	if err := c.runtime.Execute(ctx, cmds...); err == nil || !strings.Contains(err.Error(), "slot99") {
		t.Fatalf("Execute = %v, want the refused slot99 named\n%s", err, commandLines(u))
	}

	// The run's new addresses are set, but no slot was made ready with
	// them: A alone still answers.
	for range 10 {
		if resp := haproxytest.Get(t, inst.HTTP, "web.test", "/"); resp.Status != http.StatusOK || !strings.HasPrefix(resp.Body, "A ") {
			t.Fatalf("after the refused run: %d %q, want A", resp.Status, resp.Body)
		}
	}

	r, err := c.readBack(ctx, &loaded, files)
	if err != nil {
		t.Fatal(err)
	}
	next := r.diff(&wanted, c, haproxy.Features{})
	if next.reload != "" {
		t.Fatalf("after the read-back: reload %q", next.reload)
	}
	if err := c.runtime.Execute(ctx, next.commands...); err != nil {
		t.Fatalf("the sync planned from HAProxy's state failed: %v\n%s", err, commandLines(next))
	}
	seen := map[string]bool{}
	for range 40 {
		resp := haproxytest.Get(t, inst.HTTP, "web.test", "/")
		if resp.Status != http.StatusOK {
			t.Fatalf("web.test: %d %q", resp.Status, resp.Body)
		}
		seen[resp.Body[:1]] = true
	}
	if !seen["B"] || !seen["C"] || seen["A"] {
		t.Errorf("web.test answered from %v, want B and C only", seen)
	}
	wantedFiles, err := render.Render(&wanted, ropts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.readBack(ctx, &wanted, wantedFiles)
	if err != nil {
		t.Fatal(err)
	}
	if rest := again.diff(&wanted, c, haproxy.Features{}); rest.reload != "" || len(rest.commands) != 0 {
		t.Errorf("not converged: reload %q, commands:\n%s", rest.reload, commandLines(rest))
	}
}
