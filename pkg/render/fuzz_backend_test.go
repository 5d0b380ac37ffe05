package render_test

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// FuzzBackends feeds arbitrary Service references, Service ports and
// EndpointSlices (addresses, address type, port, conditions) through the
// model and the renderer. Properties:
//   - the directive lines of haproxy.cfg are exactly the template's lines
//     plus, for each backend of the model, the lines it intends (header,
//     balance, one server line per endpoint, the spare-slot template): no
//     fuzzed byte adds, splits or changes a directive;
//   - every endpoint the model keeps was in the input, parses, has the
//     slice's family, can receive traffic and has a port in 1-65535;
//   - every endpoint and map entry can be sent over the runtime API (the
//     command constructors accept them);
//   - the real `haproxy -c` accepts the result.
func FuzzBackends(f *testing.F) {
	seeds := []struct {
		service, portName string
		port, slicePort   int
		addrs             string
		family, conds     uint8
	}{
		{"svc", "", 80, 8080, "198.18.0.10,198.18.0.11", 0, 0xff},
		{"svc", "http", 80, 8080, "198.18.0.10", 0, 0x01},
		{"svc", "", 80, 8080, "2001:db8::1,fd00::2", 1, 0xff},
		{"svc", "", 80, 70000, "198.18.0.10", 0, 0xff},
		{"svc", "", 80, 0, "198.18.0.10", 0, 0xff},
		{"svc", "", 80, 8080, "0.0.0.0,224.0.0.1,999.1.1.1,::ffff:1.2.3.4", 0, 0xff},
		{"svc", "", 80, 8080, "198.18.0.1\nserver x 1.2.3.4:80,fe80::1%eth0", 1, 0xff},
		{"svc", "", 80, 8080, "a.example", 2, 0xff},
		{"svc;x", "", 80, 8080, "198.18.0.10", 0, 0xff},
		{"svc\nbackend evil", "", 80, 8080, "198.18.0.10", 0, 0xff},
		{"svc", "http\nx", 80, 8080, "198.18.0.10", 0, 0xff},
		{"svc", "", 0, 8080, "198.18.0.10", 0, 0xff},
		{"svc", "", 80, 8080, "198.18.0.10,198.18.0.10,198.18.0.11", 0, 0x5a},
		{"missing", "", 80, 8080, "198.18.0.10", 0, 0xff},
	}
	for _, s := range seeds {
		f.Add(s.service, s.portName, s.port, s.slicePort, s.addrs, s.family, s.conds)
	}
	fallback := fallbackPEM(f)
	families := []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}
	empty := renderSnapshot(f, model.Snapshot{}, fallback)
	f.Fuzz(func(t *testing.T, service, portName string, port, slicePort int, addrs string, family, conds uint8) {
		var ref any = port
		if portName != "" {
			ref = portName
		}
		svcPort := mt.ServicePort(portName, int32(port))
		slice := mt.Slice("ns", "svc", "svc-1", portName, int32(slicePort))
		slice.AddressType = families[int(family)%len(families)]
		inputs := map[netip.Addr]bool{} // what the input's addresses parse to
		for i, a := range strings.Split(addrs, ",") {
			bits := conds >> (i % 3 * 2)
			ready, serving, terminating := bits&1 != 0, bits&2 != 0 || bits&1 != 0, bits&2 != 0 && bits&1 == 0
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}})
			if addr, err := netip.ParseAddr(a); err == nil {
				inputs[addr] = true
			}
		}
		snap := model.Snapshot{
			Ingresses:      []*networkingv1.Ingress{mt.Ingress("ns", "fuzz", mt.Rule("fuzz.example", mt.Path("Prefix", "/", service, ref)))},
			Services:       []*corev1.Service{mt.Service("ns", "svc", svcPort)},
			EndpointSlices: []*discoveryv1.EndpointSlice{slice},
		}
		opts := model.DefaultOptions()
		opts.FallbackCertificate = fallback
		cfg, _ := model.Build(snap, opts)
		files, err := render.Render(&cfg, render.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		want := lineCounts(string(fileData(t, empty, render.ConfigFile)))
		for i := range cfg.Backends {
			be := cfg.Backends[i]
			checkBackend(t, be, slice.AddressType, inputs)
			for _, line := range intendedLines(be) {
				want[line]++
			}
		}
		got := lineCounts(string(fileData(t, files, render.ConfigFile)))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("haproxy.cfg lines differ from the model's intent:\ngot  %v\nwant %v", got, want)
		}
		for _, m := range []struct {
			file    string
			entries []model.MapEntry
		}{{render.HostsMap, cfg.Maps.Hosts}, {render.PrefixPathsMap, cfg.Maps.PrefixPaths}, {render.ExactPathsMap, cfg.Maps.ExactPaths}} {
			for _, e := range m.entries {
				if _, err := haproxy.AddMap(m.file, e.Key, e.Value); err != nil {
					t.Fatalf("the model accepted a map entry the runtime API refuses: %v", err)
				}
			}
		}
		checkOnce(t, files)
	})
}

// checked holds the hashes of file sets that haproxy -c accepted: most
// fuzzed inputs render a set already seen, and haproxy -c is by far the
// slowest step (it is what starved the engine's minimizer).
var checked sync.Map

// checkOnce runs haproxy -c on files unless the same files passed before.
func checkOnce(t *testing.T, files []render.File) {
	t.Helper()
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Data))
		h.Write(f.Data)
	}
	key := string(h.Sum(nil))
	if _, ok := checked.Load(key); ok {
		return
	}
	writeAll(t, t.TempDir(), files) // runs haproxy -c
	checked.Store(key, true)
}

var backendName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9-]+$`)

// checkBackend holds the model's promises about one backend.
func checkBackend(t *testing.T, be *model.Backend, family discoveryv1.AddressType, inputs map[netip.Addr]bool) {
	t.Helper()
	if !backendName.MatchString(be.Name) {
		t.Fatalf("backend name %q", be.Name)
	}
	if be.Slots < len(be.Endpoints) {
		t.Fatalf("backend %s: %d slots for %d endpoints", be.Name, be.Slots, len(be.Endpoints))
	}
	for i, ep := range be.Endpoints {
		a := ep.Address
		switch {
		case !a.IsValid():
			t.Fatalf("backend %s: endpoint %d has no address", be.Name, i)
		case !inputs[a]:
			t.Fatalf("backend %s: endpoint %s was not in the input", be.Name, a)
		case a.Is4() != (family == discoveryv1.AddressTypeIPv4), a.Zone() != "", a.IsUnspecified(), a.IsMulticast():
			t.Fatalf("backend %s: endpoint %s in a %s slice", be.Name, a, family)
		case ep.Port < 1 || ep.Port > 65535:
			t.Fatalf("backend %s: endpoint port %d", be.Name, ep.Port)
		}
		if _, err := haproxy.SetServerAddr(be.Name, render.SlotName(i+1), a, uint16(ep.Port)); err != nil {
			t.Fatalf("the model kept an endpoint the runtime API refuses: %v", err)
		}
	}
}

// intendedLines is what a backend section must hold, derived from the
// model alone.
func intendedLines(be *model.Backend) []string {
	lines := []string{"backend " + be.Name + " from " + render.BackendDefaultsName, "balance roundrobin"}
	for i, ep := range be.Endpoints {
		line := fmt.Sprintf("server slot%d %s", i+1, netip.AddrPortFrom(ep.Address, uint16(ep.Port)))
		if ep.Draining {
			line += " weight 0"
		}
		lines = append(lines, line)
	}
	if be.Slots > len(be.Endpoints) {
		lines = append(lines, fmt.Sprintf("server-template slot %d-%d 0.0.0.0:1 disabled", len(be.Endpoints)+1, be.Slots))
	}
	return lines
}

func lineCounts(cfg string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(cfg, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out[line]++
		}
	}
	return out
}

// fileData returns the rendered file at path (files are sorted by path, so
// haproxy.cfg is not the first one).
func fileData(t testing.TB, files []render.File, path string) []byte {
	t.Helper()
	for _, f := range files {
		if f.Path == path {
			return f.Data
		}
	}
	t.Fatalf("no %s among the rendered files", path)
	return nil
}

func renderSnapshot(t testing.TB, snap model.Snapshot, fallback []byte) []render.File {
	opts := model.DefaultOptions()
	opts.FallbackCertificate = fallback
	cfg, _ := model.Build(snap, opts)
	files, err := render.Render(&cfg, render.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return files
}
