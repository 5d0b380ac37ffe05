package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// p2bSizes are the two P2b sets of every version: with the controller of
// the benchmark's namespace (~140 Ingresses) and with one on all
// namespaces (the scale apps, 10k in the full run).
var p2bSizes = []struct {
	Label string
	Scale bool
}{{"small", false}, {"scale", true}}

// runP2bVersions measures P2b at both sizes with each HAProxy of
// -bench.p2b-versions and adds the table "P2b by HAProxy version". Every
// version gets its own controllers and HAProxy against the objects the
// suite created (the 10k apps are not created again); for the suite's own
// HAProxy the rows of its small and scale phases are reused.
func (e *env) runP2bVersions() {
	bins := e.p2bBinaries()
	if len(bins) == 0 {
		return
	}
	results := map[string]map[string]*p2bResult{} // version → size → result
	prepared := false
	for _, h := range bins {
		results[h.Version.Raw] = map[string]*p2bResult{}
		if h.Version.Raw == e.hap.Version.Raw && e.mainP2b["small"] != nil && e.mainP2b["scale"] != nil {
			for _, size := range p2bSizes {
				r := *e.mainP2b[size.Label]
				r.Source = "main suite"
				results[h.Version.Raw][size.Label] = &r
			}
			continue
		}
		if !prepared {
			if err := e.prepareP2bVersions(); err != nil {
				e.t.Errorf("P2b by HAProxy version: %v", err)
				e.rep.Fail("P2b", "P2b by HAProxy version: the objects", err)
				return
			}
			prepared = true
		}
		// The name ends up in the controllers' runtime dirs (t.TempDir),
		// which take letters, digits and ./_- only.
		name := "p2b-haproxy-" + strings.Map(func(r rune) rune {
			if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r)) {
				return r
			}
			return '_'
		}, h.Version.Raw)
		e.t.Run(name, func(t *testing.T) {
			ee := *e
			ee.t = t
			ee.measureVersion(h, results[h.Version.Raw])
		})
		for _, size := range p2bSizes {
			if results[h.Version.Raw][size.Label] == nil {
				results[h.Version.Raw][size.Label] = &p2bResult{Err: fmt.Errorf("not measured: %s failed before (see its log)", name)}
			}
		}
	}
	e.rep.AddTable(e.p2bTable(bins, results))
}

// p2bBinaries resolves -bench.p2b-versions, leaving out (with a log line
// and a note) the release lines that are not installed: nothing is fetched
// here, `make bench` runs hack/haproxy/fetch.sh.
func (e *env) p2bBinaries() []HAProxyBinary {
	entries := SplitList(*p2bVersions)
	if len(entries) == 0 {
		e.t.Log("P2b by HAProxy version: skipped (neither -bench.p2b-versions nor BENCH_P2B_VERSIONS names a version; make bench sets them)")
		return nil
	}
	cache := os.Getenv("HAPROXY_CACHE")
	if cache == "" {
		cache = filepath.Join(cluster.RepoRoot, ".cache", "haproxy")
	}
	var bins []HAProxyBinary
	seen := map[string]bool{}
	for _, entry := range entries {
		path, err := ResolveHAProxy(entry, e.hap, cache)
		if err != nil {
			e.t.Logf("P2b by HAProxy version: %v; left out", err)
			e.rep.Note("P2b by HAProxy version: %s left out: %v.", entry, err)
			continue
		}
		h, err := ProbeHAProxy(path)
		if err != nil {
			e.t.Errorf("P2b by HAProxy version: %s: %v", entry, err)
			e.rep.Note("P2b by HAProxy version: %s left out: %v.", entry, err)
			continue
		}
		if !seen[h.Version.Raw] {
			seen[h.Version.Raw] = true
			bins = append(bins, h)
		}
	}
	return bins
}

// prepareP2bVersions makes sure the objects of both sizes are there (the
// small and scale phases may not have run).
func (e *env) prepareP2bVersions() error {
	if err := e.createFillers(); err != nil {
		return err
	}
	return e.ensureScale()
}

// measureVersion runs both P2b sets with HAProxy h, each with a controller
// of its own. The P2b apps of earlier sets are deleted first, so that every
// version starts from the same objects.
func (e *env) measureVersion(h HAProxyBinary, out map[string]*p2bResult) {
	e.t.Logf("P2b with %s", h)
	if err := e.deleteP2bApps(); err != nil {
		e.t.Fatalf("delete the earlier P2b apps: %v", err)
	}
	tag := "h" + strings.ReplaceAll(h.Version.Line(), ".", "")
	for _, size := range p2bSizes {
		o := framework.BollardOptions{Args: []string{"--haproxy-binary", h.Path}}
		if !size.Scale {
			o.Namespace = e.ns
		}
		b := cluster.StartBollard(e.t, o)
		var mem *HAProxyMem
		var memErr error
		if size.Scale {
			time.Sleep(e.sz.Steady) // as the suite's scale phase before its RSS figures
			mem, memErr = e.haproxyMem(b, 5*time.Second)
		} else {
			time.Sleep(min(e.sz.Steady, 2*time.Second))
		}
		r := e.measureP2b(b, o.Namespace, tag+"-"+size.Label, e.sz.P2b)
		if size.Scale && memErr == nil {
			r.Mem = mem
			r.MemAfter, memErr = e.haproxyMem(b, e.sz.Steady)
		}
		if memErr != nil {
			e.t.Errorf("HAProxy memory: %v", memErr)
		}
		out[size.Label] = r
		b.Stop(e.t)
		e.saveLog(b, fmt.Sprintf("controller-p2b-%s-%s.log", h.Version.Raw, size.Label))
		if r.Err != nil {
			e.t.Errorf("P2b %s on HAProxy %s: %v", size.Label, h.Version.Raw, r.Err)
			continue
		}
		e.t.Logf("P2b %s on HAProxy %s at %d Ingresses: %s; %d reloads; HAProxy %v",
			size.Label, h.Version.Raw, r.Present, r.Lat, r.Reloads, r.Mem)
		e.checkP2b(size.Label, r, e.sz.P2b, h)
	}
}

// deleteP2bApps deletes the Ingress, Service and EndpointSlice of every
// P2b app (named p2b-…) in the benchmark's namespace.
func (e *env) deleteP2bApps() error {
	svcs, err := e.client.CoreV1().Services(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ings, err := e.client.NetworkingV1().Ingresses(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, s := range svcs.Items {
		names[s.Name] = true
	}
	for _, i := range ings.Items {
		names[i.Name] = true
	}
	n := 0
	for name := range names {
		if !strings.HasPrefix(name, "p2b-") {
			continue
		}
		n++
		for _, del := range []func() error{
			func() error {
				return e.client.NetworkingV1().Ingresses(e.ns).Delete(e.ctx, name, metav1.DeleteOptions{})
			},
			func() error {
				return e.client.DiscoveryV1().EndpointSlices(e.ns).Delete(e.ctx, name+"-bench", metav1.DeleteOptions{})
			},
			func() error { return e.client.CoreV1().Services(e.ns).Delete(e.ctx, name, metav1.DeleteOptions{}) },
		} {
			if err := del(); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	e.t.Logf("deleted %d P2b apps", n)
	return nil
}

// p2bTable is "P2b by HAProxy version": one row per version and size.
func (e *env) p2bTable(bins []HAProxyBinary, results map[string]map[string]*p2bResult) Table {
	t := Table{
		Title: fmt.Sprintf("P2b by HAProxy version: new Service + EndpointSlice + Ingress (new host), first write → served, %d samples per row, "+
			"one after the other; a controller and HAProxy of its own per version and size, except the rows of the main suite. "+
			"Reloads from the master's `show proc`; HAProxy RSS at scale: VmRSS of the master and workers of `show proc` summed "+
			"(PSS counts shared pages once), before the first sample; after the last one.", e.sz.P2b),
		Header: []string{"HAProxy", "Ingresses watched", "p50 ms", "p99 ms", "max ms (n)", "reloads", "HAProxy RSS", "target", "verdict"},
	}
	for _, h := range bins {
		for _, size := range p2bSizes {
			name := h.Version.Raw
			r := results[h.Version.Raw][size.Label]
			if r != nil && r.Source != "" {
				name += " (" + r.Source + ")"
			}
			target, met := P2bTarget(h.Features(), size.Scale, e.p2bStanding(size.Scale))
			switch {
			case r.Err != nil:
				present := fmt.Sprint(r.Present)
				if r.Present == 0 {
					present = size.Label
				}
				t.Rows = append(t.Rows, []string{name, present, "", "", "", "", "", target, Failed + ": " + oneLine(r.Err.Error())})
			default:
				mem := NoGoal
				if r.Mem != nil {
					mem = r.Mem.String()
					if r.MemAfter != nil {
						mem += "; " + r.MemAfter.String()
					}
				}
				t.Rows = append(t.Rows, []string{name, fmt.Sprint(r.Present), Ms(r.Lat.P50), Ms(r.Lat.P99), fmt.Sprintf("%s (%d)", Ms(r.Lat.Max), r.Lat.N),
					fmt.Sprint(r.Reloads), mem, target, Verdict(met(r.Lat.P99, r.Reloads))})
			}
		}
	}
	return t
}
