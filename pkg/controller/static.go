package controller

import (
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// The runtime diff fails closed: it compares whole values, not a list of
// fields. Everything of the model but what a runtime command changes
// (endpoints, map entries, certificate contents, backends HAProxy can add
// and remove) is compared, so a field added to the model later makes a
// reload until a runtime path is written for it.

// staticChange reports why going from have to want needs a reload, for the
// parts of the config outside backends, maps and certificates.
func staticChange(have, want *model.Config) (reloadCause, string, bool) {
	switch {
	case have.Global != want.Global:
		return causeStructure, "global options changed", true
	case have.DefaultBackend != want.DefaultBackend:
		return causeStructure, "default backend changed", true
	case !slices.EqualFunc(have.BackendCAs, want.BackendCAs, func(a, b model.CAFile) bool { return reflect.DeepEqual(a, b) }):
		return causeBackendOptions, "backend CA files changed", true
	case !slices.EqualFunc(have.ClientCAs, want.ClientCAs, func(a, b model.CAFile) bool { return reflect.DeepEqual(a, b) }):
		return causeCertificates, "client CA files changed", true
	case !reflect.DeepEqual(have.Userlists, want.Userlists):
		return causeBackendOptions, "userlists (auth Secrets) changed", true
	case !reflect.DeepEqual(staticPart(have), staticPart(want)):
		return causeUnclassified, "the config changed in a way no runtime command covers", true
	case mapEntriesChanged(&have.Maps, &want.Maps):
		return causeUnclassified, "map entries changed in a way no runtime command covers", true
	}
	return 0, "", false
}

// staticPart is cfg without what the runtime diff changes or ignores.
func staticPart(cfg *model.Config) model.Config {
	s := *cfg
	s.Backends = nil                             // compared one by one (backendChange)
	for _, f := range render.MapFiles(&s.Maps) { // diffMaps; other fields of Maps stay
		*f.Entries = nil
	}
	s.Certificates = nil       // diffCertificates
	s.DefaultCertificate = nil // diffCertificates
	s.Served = nil             // Ingress status, not HAProxy's
	s.NamedHosts = nil         // the model's own bookkeeping (model.AddIngress)
	s.GatewayStatus = nil      // Gateway API status, not HAProxy's
	return s
}

// backendChange reports why a backend HAProxy has needs a reload to
// become want: anything but its endpoints (slots) changed.
func backendChange(have, want *model.Backend, fields backendFields) (reloadCause, string, bool) {
	switch {
	case withoutPolicies(have.Options) != withoutPolicies(want.Options):
		return causeBackendOptions, "options of backend " + want.Name + " changed", true
	case have.Options != want.Options:
		return causeRoutePolicies, "route policy rules of backend " + want.Name + " changed (first or last policy, or a new header name)", true
	case !fields.sameBesidesSlots(have, want):
		return causeUnclassified, "backend " + want.Name + " changed in a way no runtime command covers", true
	case endpointsChanged(have.Endpoints, want.Endpoints):
		return causeUnclassified, "endpoints of backend " + want.Name + " changed in a way no runtime command covers", true
	}
	return 0, "", false
}

// withoutPolicies is o without the fields of the route policies.
func withoutPolicies(o model.BackendOptions) model.BackendOptions {
	o.Policies, o.RequestHeaders, o.ResponseHeaders = false, "", ""
	return o
}

// backendFields compares every field of model.Backend but those the slot
// layouts follow at run time (Endpoints, Slots). It runs for every backend
// on every sync, so it reads the fields in place: reflect.DeepEqual of two
// copies boxed both, two allocations per backend (20k per endpoint change
// at 10k backends).
type backendFields struct {
	// runtime marks, by field index, the fields left out.
	runtime []bool
}

// newBackendFields is built once per diff.
func newBackendFields() backendFields {
	t := reflect.TypeFor[model.Backend]()
	runtime := make([]bool, t.NumField())
	for i := range runtime {
		switch t.Field(i).Name {
		case "Endpoints", "Slots":
			runtime[i] = true
		}
	}
	return backendFields{runtime: runtime}
}

func (f backendFields) sameBesidesSlots(have, want *model.Backend) bool {
	hv, wv := reflect.ValueOf(have).Elem(), reflect.ValueOf(want).Elem()
	for i, skip := range f.runtime {
		if skip {
			continue
		}
		a, b := hv.Field(i), wv.Field(i)
		if a.Type().Comparable() {
			if !a.Equal(b) {
				return false
			}
		} else if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return false
		}
	}
	return true
}

// sameCertificateBesidesPEM reports whether two certificates of one file
// differ at most in what `set ssl cert` changes (the PEM, hence NotAfter)
// and in SNI hosts and client authentication (diffCertificates reloads for
// those).
func sameCertificateBesidesPEM(a, b *model.Certificate) bool {
	x, y := *a, *b
	x.PEM, y.PEM = nil, nil
	x.NotAfter, y.NotAfter = time.Time{}, time.Time{}
	x.SNI, y.SNI = nil, nil
	x.ClientAuth, y.ClientAuth = nil, nil
	return reflect.DeepEqual(x, y)
}

// endpointsChanged reports whether endpoints differ in more than what the
// slot commands set (address, port, and weight for draining): an endpoint
// kept must keep the rest of its fields, and a new one must have them
// zero, as the slot it fills has nothing else. The comparison is ==, so a
// field that is not comparable fails to compile here rather than escape.
func endpointsChanged(have, want []model.Endpoint) bool {
	rest := func(ep model.Endpoint) model.Endpoint {
		ep.Address, ep.Port, ep.Draining = netip.Addr{}, 0, false
		return ep
	}
	zero := func(eps []model.Endpoint) bool {
		return !slices.ContainsFunc(eps, func(ep model.Endpoint) bool { return rest(ep) != model.Endpoint{} })
	}
	if zero(have) && zero(want) { // every field is one the slots hold
		return false
	}
	had := make(map[netip.AddrPort]model.Endpoint, len(have))
	for _, ep := range have {
		had[netip.AddrPortFrom(ep.Address, uint16(ep.Port))] = rest(ep)
	}
	for _, ep := range want {
		if had[netip.AddrPortFrom(ep.Address, uint16(ep.Port))] != rest(ep) {
			return true
		}
	}
	return false
}

// mapEntriesChanged reports whether map entries differ in more than what
// add, set and del map change (key and value), the same way.
func mapEntriesChanged(have, want *model.Maps) bool {
	rest := func(e model.MapEntry) model.MapEntry {
		e.Key, e.Value = "", ""
		return e
	}
	zero := func(es []model.MapEntry) bool {
		return !slices.ContainsFunc(es, func(e model.MapEntry) bool { return rest(e) != model.MapEntry{} })
	}
	haveFiles := render.MapFiles(have)
	for i, f := range render.MapFiles(want) {
		if zero(*haveFiles[i].Entries) && zero(*f.Entries) {
			continue
		}
		had := make(map[string]model.MapEntry, len(*haveFiles[i].Entries))
		for _, e := range *haveFiles[i].Entries {
			had[e.Key] = rest(e)
		}
		for _, e := range *f.Entries {
			if had[e.Key] != rest(e) {
				return true
			}
		}
	}
	return false
}
