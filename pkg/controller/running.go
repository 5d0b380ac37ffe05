package controller

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// running is what the HAProxy in service holds: the config it last loaded
// plus every runtime change since.
type running struct {
	cfg     *model.Config
	layouts map[string]*slotLayout // includes backends no longer wanted
	// storeOnly names certificate files HAProxy holds in its store but on
	// no crt-list line (read back after a batch failed half way): they need
	// set, commit and add, not `new ssl cert`, which HAProxy would refuse.
	storeOnly map[string]bool
	// retiring names backends unpublished at run time and not deleted yet
	// (collectBackends).
	retiring map[string]bool
}

// newRunning is the state of an HAProxy that just loaded cfg from disk.
func newRunning(cfg *model.Config) *running {
	r := &running{cfg: cfg, layouts: map[string]*slotLayout{}, storeOnly: map[string]bool{}, retiring: map[string]bool{}}
	for i := range cfg.Backends {
		r.layouts[cfg.Backends[i].Name] = layoutFor(cfg.Backends[i])
	}
	return r
}

// fileRefs names files as HAProxy's runtime API knows them.
type fileRefs interface {
	mapRef(relPath string) string
	certRef(relPath string) string
	crtListRef() string
}

// update is the runtime work that takes HAProxy from running to wanted, or
// the reason it needs a reload instead.
type update struct {
	reload   string      // why a reload is needed ("": none), for logs
	cause    reloadCause // the same, typed, for the metric
	commands []haproxy.Command
	// counts are commands by kind, for metrics; a map swap counts as one
	// (it runs as prepare, one add per payload chunk, commit).
	counts map[string]int
	slots  map[string][]slotChange
	// created and retired are the backends the commands create and
	// unpublish (HAProxy 3.4+).
	created []*model.Backend
	retired []string
}

// needReload records that the update needs a reload, and why.
func (u *update) needReload(cause reloadCause, reason string) {
	u.reload, u.cause = reason, cause
}

func (u *update) add(kind string, cmd haproxy.Command, err error) {
	if err != nil {
		// The model validated every value; a refusal here is a bug, and a
		// reload from files is the safe way out.
		u.needReload(causeRuntimeFailed, fmt.Sprintf("runtime command refused: %v", err))
		return
	}
	u.commands = append(u.commands, cmd)
	u.counts[kind]++
}

// diff plans the runtime update from r to wanted. Make before break: new
// certificates, then new backends, then filled slots, then map changes,
// then emptied slots, then deleted backends. Backends are created and
// deleted at run time only where features allow it.
func (r *running) diff(wanted *model.Config, refs fileRefs, features haproxy.Features) *update {
	u := &update{counts: map[string]int{}, slots: map[string][]slotChange{}}
	if cause, reason, changed := staticChange(r.cfg, wanted); changed {
		u.needReload(cause, reason)
		return u
	}
	var created []*model.Backend
	fields := newBackendFields()
	for i := range wanted.Backends {
		be := wanted.Backends[i]
		isNew, ok := r.diffBackend(u, be, fields, features)
		if !ok {
			return u
		}
		if isNew {
			created = append(created, be)
		}
	}
	r.diffCertificates(wanted, refs, u)
	for _, be := range created {
		if u.reload != "" {
			return u
		}
		planNewBackend(u, be)
	}
	if u.reload != "" {
		return u
	}
	slotCommands(u, false)
	r.diffMaps(wanted, refs, u)
	slotCommands(u, true)
	if features.RuntimeBackends {
		r.planRetiredBackends(u, wanted)
	}
	return u
}

// diffBackend plans the slot changes of one wanted backend. It reports
// whether the backend is new (to be created at run time) and false when
// the update needs a reload instead.
func (r *running) diffBackend(u *update, be *model.Backend, fields backendFields, features haproxy.Features) (isNew, ok bool) {
	layout, ok := r.layouts[be.Name]
	if !ok {
		if r.retiring[be.Name] {
			u.needReload(causeBackendRetiring, "backend "+be.Name+" wanted again while it is being deleted")
			return false, false
		}
		if !features.RuntimeBackends {
			u.needReload(causeNewBackend, "new backend "+be.Name)
			return false, false
		}
		return true, true
	}
	if have, ok := r.cfg.Backend(be.Name); ok {
		if cause, reason, changed := backendChange(have, be, fields); changed {
			u.needReload(cause, reason)
			return false, false
		}
	}
	changes, ok := layout.plan(be.Endpoints)
	if !ok {
		u.needReload(causeSlots, fmt.Sprintf("backend %s needs more than its %d slots", be.Name, len(layout.slots)))
		return false, false
	}
	if len(changes) > 0 {
		u.slots[be.Name] = changes
	}
	return false, true
}

// diffPatched plans the update to wanted, a model that differs from the
// running one only in the endpoints of the named backends
// (model.PatchEndpoints) and, when maps is set, in its routing maps
// (model.AddIngress): nothing else to compare.
func (r *running) diffPatched(wanted *model.Config, backends []string, maps bool, refs fileRefs, features haproxy.Features) *update {
	u := &update{counts: map[string]int{}, slots: map[string][]slotChange{}}
	fields := newBackendFields()
	for _, name := range backends {
		be, found := wanted.Backend(name)
		if !found {
			continue
		}
		if isNew, ok := r.diffBackend(u, be, fields, features); !ok {
			return u
		} else if isNew {
			u.needReload(causeUnclassified, "patched backend "+name+" is not in HAProxy")
			return u
		}
	}
	slotCommands(u, false)
	if maps {
		r.diffMaps(wanted, refs, u)
	}
	slotCommands(u, true)
	return u
}

// slotCommands adds the fill/weight commands (empties=false) or the empty
// commands (empties=true) of the planned slot changes, in backend order.
func slotCommands(u *update, empties bool) {
	names := make([]string, 0, len(u.slots))
	for name := range u.slots {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !empties {
			fillSlots(u, name, u.slots[name])
		}
		for _, c := range u.slots[name] {
			server := render.SlotName(c.slot + 1)
			switch {
			case c.action == emptySlot && empties:
				cmd, err := haproxy.SetServerState(name, server, haproxy.StateMaint)
				u.add("endpoint", cmd, err)
			case c.action == weightSlot && !empties:
				weight := 1
				if c.draining {
					weight = 0
				}
				cmd, err := haproxy.SetServerWeight(name, server, weight)
				u.add("endpoint", cmd, err)
			}
		}
	}
}

// fillSlots gives the filled slots of a backend their addresses, waits
// until HAProxy uses them (3.x applies `set server addr` after answering,
// and a slot made ready before that sends requests to the address it had
// before: an endpoint removed earlier), then makes them ready.
func fillSlots(u *update, backend string, changes []slotChange) {
	addrs := map[string]netip.AddrPort{}
	for _, c := range changes {
		if c.action != fillSlot {
			continue
		}
		server := render.SlotName(c.slot + 1)
		addrs[server] = c.addr
		cmd, err := haproxy.SetServerAddr(backend, server, c.addr.Addr(), c.addr.Port())
		u.add("endpoint", cmd, err)
		cmd, err = haproxy.SetServerWeight(backend, server, 1)
		u.add("endpoint", cmd, err)
	}
	if len(addrs) == 0 {
		return
	}
	cmd, err := haproxy.AddressBarrier(backend, addrs)
	u.add("barrier", cmd, err)
	for _, c := range changes {
		if c.action == fillSlot {
			cmd, err := haproxy.SetServerState(backend, render.SlotName(c.slot+1), haproxy.StateReady)
			u.add("endpoint", cmd, err)
		}
	}
}

// diffMaps plans the map changes. Adds and sets go in render.MapFiles
// order, deletions in reverse, so that an entry is never named before what
// it points to is in place: a route's policy key after the policy's
// values, a CIDR after its members, and the other way round on removal
// (render.MapFiles).
//
// A file with two or more adds and sets, or two or more deletions, in one
// pass changes by one atomic swap (haproxy.ReplaceMap) instead of entry by
// entry, so no request sees some of its entries old and others new (while
// one allow-list replaces another, the union of both would pass). The
// forward swap keeps the entries the reverse pass deletes, so nothing
// leaves early; the reverse swap leaves exactly the wanted entries. A
// single change stays one add, set or del map: a swap resends the whole
// file, and the routing maps hold an entry per route.
func (r *running) diffMaps(wanted *model.Config, refs fileRefs, u *update) {
	haveFiles, wantFiles := render.MapFiles(&r.cfg.Maps), render.MapFiles(&wanted.Maps)
	gone := make([][]model.MapEntry, len(wantFiles)) // what the reverse pass deletes
	for i, p := range wantFiles {
		ref := refs.mapRef(p.Path)
		have, want := *haveFiles[i].Entries, *p.Entries
		if slices.Equal(have, want) {
			continue // most files in most passes: no maps to build
		}
		changed, removed, haveKeys := entryChanges(have, want)
		gone[i] = removed
		if len(changed) >= 2 && swappable(len(want)+len(gone[i])) {
			cmd, err := haproxy.ReplaceMap(ref, runtimeEntries(want, gone[i]))
			u.add("map", cmd, err)
			continue
		}
		for _, e := range changed {
			var cmd haproxy.Command
			var err error
			if haveKeys[e.Key] {
				cmd, err = haproxy.SetMap(ref, e.Key, e.Value)
			} else {
				cmd, err = haproxy.AddMap(ref, e.Key, e.Value)
			}
			u.add("map", cmd, err)
		}
	}
	for i := len(wantFiles) - 1; i >= 0; i-- {
		ref := refs.mapRef(wantFiles[i].Path)
		if len(gone[i]) >= 2 && swappable(len(*wantFiles[i].Entries)+len(gone[i])) {
			cmd, err := haproxy.ReplaceMap(ref, runtimeEntries(*wantFiles[i].Entries, nil))
			u.add("map", cmd, err)
			continue
		}
		for _, e := range gone[i] {
			cmd, err := haproxy.DelMap(ref, e.Key)
			u.add("map", cmd, err)
		}
	}
}

// swapMaxEntries bounds the maps that change by a swap: a swap sends the
// whole map (10 entries of a 10,000-entry map: 85-111 ms on 2.6 as a swap,
// 2-4 ms as ten set map; docs/benchmarks.md), and the apply loop waits
// for it. A larger map changes entry by entry, in the same order.
const swapMaxEntries = 1000

func swappable(entries int) bool { return entries <= swapMaxEntries }

// runtimeEntries lists the entries of lists in order, for a swap.
func runtimeEntries(lists ...[]model.MapEntry) []haproxy.MapEntry {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]haproxy.MapEntry, 0, n)
	for _, l := range lists {
		for _, e := range l {
			out = append(out, haproxy.MapEntry{Key: e.Key, Value: e.Value})
		}
	}
	return out
}

// entryChanges returns the entries of want that have lacks or holds with
// another value, the entries of have that want lacks, and the keys of
// the changed entries that have holds. Both lists are sorted by strictly
// increasing Key, as the model makes them, and are merged in one walk (a
// new host at 10k Ingresses: no map of 30k entries); lists that are not
// sorted are compared by maps.
func entryChanges(have, want []model.MapEntry) (changed, gone []model.MapEntry, inHave map[string]bool) {
	if !strictlySorted(have) || !strictlySorted(want) {
		return entryChangesByMap(have, want)
	}
	inHave = map[string]bool{}
	i, j := 0, 0
	for i < len(have) || j < len(want) {
		switch {
		case j == len(want) || (i < len(have) && have[i].Key < want[j].Key):
			gone = append(gone, have[i])
			i++
		case i == len(have) || want[j].Key < have[i].Key:
			changed = append(changed, want[j])
			j++
		default:
			if have[i].Value != want[j].Value {
				changed = append(changed, want[j])
				inHave[want[j].Key] = true
			}
			i++
			j++
		}
	}
	return changed, gone, inHave
}

// entryChangesByMap is entryChanges for lists in any order.
func entryChangesByMap(have, want []model.MapEntry) (changed, gone []model.MapEntry, inHave map[string]bool) {
	haveByKey, wantByKey := entryMap(have), entryMap(want)
	for _, e := range have {
		if _, ok := wantByKey[e.Key]; !ok {
			gone = append(gone, e)
		}
	}
	inHave = map[string]bool{}
	for _, e := range want {
		old, ok := haveByKey[e.Key]
		if !ok || old != e.Value {
			changed = append(changed, e)
		}
		if ok && old != e.Value {
			inHave[e.Key] = true
		}
	}
	return changed, gone, inHave
}

func strictlySorted(es []model.MapEntry) bool {
	for i := 1; i < len(es); i++ {
		if es[i-1].Key >= es[i].Key {
			return false
		}
	}
	return true
}

func entryMap(es []model.MapEntry) map[string]string {
	m := make(map[string]string, len(es))
	for _, e := range es {
		m[e.Key] = e.Value
	}
	return m
}

// diffCertificates updates certificate contents and adds new certificates
// at run time. A removed certificate or a changed SNI list needs a reload.
func (r *running) diffCertificates(wanted *model.Config, refs fileRefs, u *update) {
	if !bytes.Equal(r.cfg.DefaultCertificate, wanted.DefaultCertificate) {
		ref := refs.certRef(render.DefaultCertPEM)
		cmd, err := haproxy.SetSSLCert(ref, wanted.DefaultCertificate)
		u.add("certificate", cmd, err)
		cmd, err = haproxy.CommitSSLCert(ref)
		u.add("certificate", cmd, err)
	}
	have := map[string]*model.Certificate{}
	for i := range r.cfg.Certificates {
		have[r.cfg.Certificates[i].FileName] = &r.cfg.Certificates[i]
	}
	seen := 0
	for i := range wanted.Certificates {
		c := &wanted.Certificates[i]
		ref := refs.certRef(render.CertsDir + "/" + c.FileName)
		old, ok := have[c.FileName]
		switch {
		case !ok && len(c.ClientAuth) > 0:
			// Its lines name a CA file, which only a reload loads.
			u.needReload(causeCertificates, "new certificate "+c.FileName+" asks for client certificates")
			return
		case !ok:
			if !r.storeOnly[c.FileName] {
				cmd, err := haproxy.NewSSLCert(ref)
				u.add("certificate", cmd, err)
			}
			cmd, err := haproxy.SetSSLCert(ref, c.PEM)
			u.add("certificate", cmd, err)
			cmd, err = haproxy.CommitSSLCert(ref)
			u.add("certificate", cmd, err)
			for _, line := range c.SNILines() {
				cmd, err = haproxy.AddSSLCrtList(refs.crtListRef(), ref, line)
				u.add("certificate", cmd, err)
			}
			continue
		case !slices.Equal(old.SNI, c.SNI):
			u.needReload(causeCertificates, "SNI hosts of certificate "+c.FileName+" changed")
			return
		case !slices.Equal(old.ClientAuth, c.ClientAuth):
			u.needReload(causeCertificates, "hosts of certificate "+c.FileName+" that ask for client certificates changed")
			return
		case !sameCertificateBesidesPEM(old, c):
			u.needReload(causeUnclassified, "certificate "+c.FileName+" changed in a way no runtime command covers")
			return
		case !bytes.Equal(old.PEM, c.PEM):
			cmd, err := haproxy.SetSSLCert(ref, c.PEM)
			u.add("certificate", cmd, err)
			cmd, err = haproxy.CommitSSLCert(ref)
			u.add("certificate", cmd, err)
		}
		seen++
	}
	if seen != len(r.cfg.Certificates) {
		u.needReload(causeCertificates, "a certificate was removed")
	}
}

// endpointUpdate plans the slot changes of the backends HAProxy already
// has and that have slots enough, alone: what can be served at once while
// the rest of a change waits for a reload.
func (r *running) endpointUpdate(wanted *model.Config) *update {
	u := &update{counts: map[string]int{}, slots: map[string][]slotChange{}}
	for i := range wanted.Backends {
		be := wanted.Backends[i]
		layout, ok := r.layouts[be.Name]
		if !ok {
			continue
		}
		if changes, ok := layout.plan(be.Endpoints); ok && len(changes) > 0 {
			u.slots[be.Name] = changes
		}
	}
	slotCommands(u, false)
	slotCommands(u, true)
	return u
}

// appliedSlots records the slot changes of an update HAProxy accepted; the
// rest of the running config is unchanged.
func (r *running) appliedSlots(u *update) {
	for name, changes := range u.slots {
		r.layouts[name].apply(changes)
	}
}

// applied records a runtime update that HAProxy accepted.
func (r *running) applied(u *update, wanted *model.Config) {
	for name, changes := range u.slots {
		r.layouts[name].apply(changes)
	}
	for _, be := range u.created {
		r.layouts[be.Name] = layoutFor(be)
	}
	for _, name := range u.retired {
		delete(r.layouts, name)
		r.retiring[name] = true
	}
	for i := range wanted.Certificates {
		delete(r.storeOnly, wanted.Certificates[i].FileName)
	}
	r.cfg = wanted
}
