package controller

import (
	"reflect"
	"slices"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
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
	case !reflect.DeepEqual(staticPart(have), staticPart(want)):
		return causeUnclassified, "the config changed in a way no runtime command covers", true
	}
	return 0, "", false
}

// staticPart is cfg without what the runtime diff changes or ignores.
func staticPart(cfg *model.Config) model.Config {
	s := *cfg
	s.Backends = nil           // compared one by one (backendChange)
	s.Maps = model.Maps{}      // diffMaps
	s.Certificates = nil       // diffCertificates
	s.DefaultCertificate = nil // diffCertificates
	s.Served = nil             // Ingress status, not HAProxy's
	return s
}

// backendChange reports why a backend HAProxy has needs a reload to
// become want: anything but its endpoints (slots) changed.
func backendChange(have, want *model.Backend) (reloadCause, string, bool) {
	switch {
	case have.Options != want.Options:
		return causeBackendOptions, "options of backend " + want.Name + " changed", true
	case !reflect.DeepEqual(backendStatic(have), backendStatic(want)):
		return causeUnclassified, "backend " + want.Name + " changed in a way no runtime command covers", true
	}
	return 0, "", false
}

// backendStatic is a backend without its endpoints and slot count, which
// the slot layouts follow at run time.
func backendStatic(be *model.Backend) model.Backend {
	s := *be
	s.Endpoints = nil
	s.Slots = 0
	return s
}

// sameCertificateBesidesPEM reports whether two certificates of one file
// differ at most in what `set ssl cert` changes (the PEM, hence NotAfter)
// and in SNI hosts (diffCertificates reloads for those).
func sameCertificateBesidesPEM(a, b *model.Certificate) bool {
	x, y := *a, *b
	x.PEM, y.PEM = nil, nil
	x.NotAfter, y.NotAfter = time.Time{}, time.Time{}
	x.SNI, y.SNI = nil, nil
	return reflect.DeepEqual(x, y)
}
