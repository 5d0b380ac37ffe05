package controller

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
)

// lastGood remembers the last accepted version of each Ingress, TLS Secret
// and Service, so that an update that breaks one keeps the previous
// version serving instead of dropping its routes.
type lastGood struct {
	ingresses map[string]*networkingv1.Ingress
	secrets   map[string]*corev1.Secret
	// services is the Services of the last accepted snapshot, as it was
	// (informer objects are never modified), and brokenServices those of
	// them the model refused: remembering costs nothing per Service, and
	// only a Service broken now is looked up.
	services       []*corev1.Service
	brokenServices map[string]bool
	// changes counts remember and forget calls: a background build reads
	// a view taken before them (background.go).
	changes uint64
}

func newLastGood() *lastGood {
	return &lastGood{ingresses: map[string]*networkingv1.Ingress{}, secrets: map[string]*corev1.Secret{}}
}

// brokenServices names the Services ("namespace/name") that the model
// refused for an invalid annotation.
func brokenServices(rejections []model.Rejection) map[string]bool {
	broken := map[string]bool{}
	for _, r := range rejections {
		if r.Kind == "Service" && !r.Warning && !r.Missing && strings.HasPrefix(r.Field, "metadata.annotations") {
			broken[r.Namespace+"/"+r.Name] = true
		}
	}
	return broken
}

// substitute returns a snapshot where broken TLS Secrets, rejected
// Ingresses and Services with an invalid annotation are replaced by their
// last good versions, and the keys of what it replaced. first is the model
// built from snap as it is, with its rejections.
func (l *lastGood) substitute(snap model.Snapshot, first *model.Config, rejections []model.Rejection, opts model.Options) (model.Snapshot, []string) {
	var kept []string
	if broken := brokenServices(rejections); len(broken) > 0 {
		good := map[string]*corev1.Service{}
		for _, s := range l.services {
			if key := s.Namespace + "/" + s.Name; broken[key] && !l.brokenServices[key] {
				good[key] = s
			}
		}
		services := append([]*corev1.Service(nil), snap.Services...)
		for i, s := range services {
			key := s.Namespace + "/" + s.Name
			if prev, ok := good[key]; ok && prev.ResourceVersion != s.ResourceVersion {
				services[i] = prev
				kept = append(kept, "Service "+key)
			}
		}
		snap.Services = services
	}
	secrets := snap.Secrets
	copied := false
	for i, s := range snap.Secrets {
		key := s.Namespace + "/" + s.Name
		prev, ok := l.secrets[key]
		if !ok || prev.ResourceVersion == s.ResourceVersion || model.CheckTLSSecret(s, opts.TLS) == nil {
			continue
		}
		if !copied {
			secrets = append([]*corev1.Secret(nil), snap.Secrets...)
			copied = true
		}
		secrets[i] = prev
		kept = append(kept, "Secret "+key)
	}
	served := map[string]bool{}
	for _, key := range first.Served {
		served[key] = true
	}
	ingresses := snap.Ingresses
	copied = false
	for i, ing := range snap.Ingresses {
		key := ing.Namespace + "/" + ing.Name
		prev, ok := l.ingresses[key]
		if served[key] || !ok || prev.ResourceVersion == ing.ResourceVersion || !model.IsOurs(ing, snap.IngressClasses, opts) {
			continue
		}
		if !copied {
			ingresses = append([]*networkingv1.Ingress(nil), snap.Ingresses...)
			copied = true
		}
		ingresses[i] = prev
		kept = append(kept, "Ingress "+key)
	}
	snap.Secrets, snap.Ingresses = secrets, ingresses
	return snap, kept
}

// remember records what the final model accepted; rejections are the
// final model's.
func (l *lastGood) remember(snap model.Snapshot, cfg *model.Config, rejections []model.Rejection, opts model.Options) {
	l.changes++
	ingresses := map[string]*networkingv1.Ingress{}
	byKey := map[string]*networkingv1.Ingress{}
	for _, ing := range snap.Ingresses {
		byKey[ing.Namespace+"/"+ing.Name] = ing
	}
	for _, key := range cfg.Served {
		if ing, ok := byKey[key]; ok {
			ingresses[key] = ing
		}
	}
	l.ingresses = ingresses
	// Secrets behind served certificates parsed fine in this very build.
	used := map[string]bool{}
	for _, c := range cfg.Certificates {
		used[c.Secret] = true
	}
	if opts.DefaultSSLCertificate != "" {
		used[opts.DefaultSSLCertificate] = true
	}
	secrets := map[string]*corev1.Secret{}
	for _, s := range snap.Secrets {
		key := s.Namespace + "/" + s.Name
		if used[key] && (key != opts.DefaultSSLCertificate || model.CheckTLSSecret(s, opts.TLS) == nil) {
			secrets[key] = s
		}
	}
	l.secrets = secrets
	// Kept as is: every snapshot is a new slice of objects nobody modifies.
	l.services, l.brokenServices = snap.Services, brokenServices(rejections)
}

// rememberAdded is remember for a model that AddIngress made from the one
// remembered last: of added, the Ingresses cfg serves are new good ones.
func (l *lastGood) rememberAdded(added []*networkingv1.Ingress, cfg *model.Config) {
	l.changes++
	ingresses := maps.Clone(l.ingresses) // a view shares the old map
	for _, ing := range added {
		key := ing.Namespace + "/" + ing.Name
		if _, served := slices.BinarySearch(cfg.Served, key); served {
			ingresses[key] = ing
		}
	}
	l.ingresses = ingresses
}

// forget drops the last good version of an Ingress ("namespace/name"):
// HAProxy refused it too.
func (l *lastGood) forget(key string) {
	l.changes++
	// A copy without it, as remember makes new maps: a view shares them.
	ingresses := maps.Clone(l.ingresses)
	delete(ingresses, key)
	l.ingresses = ingresses
}

// view is a copy that a background build can read while the loop goes on:
// remember and forget replace the maps and the slice, never change them.
func (l *lastGood) view() *lastGood {
	return &lastGood{ingresses: l.ingresses, secrets: l.secrets,
		services: l.services, brokenServices: l.brokenServices}
}

// withoutKept returns refused without the Ingresses that kept names
// ("Ingress namespace/name"): their last good versions serve instead.
func withoutKept(refused map[string]string, kept []string) map[string]string {
	if len(refused) == 0 {
		return refused
	}
	out := maps.Clone(refused)
	for _, k := range kept {
		if key, ok := strings.CutPrefix(k, "Ingress "); ok {
			delete(out, key)
		}
	}
	return out
}

// markKept tells, in the rejections of the broken versions, that the last
// good version keeps serving.
func markKept(rejections []model.Rejection, kept []string) {
	for i := range rejections {
		r := &rejections[i]
		for _, k := range kept {
			kind, key, _ := strings.Cut(k, " ")
			if kind == "Service" && r.Kind == "Ingress" && strings.Contains(r.Reason, "service "+key+" has an invalid annotation") {
				r.Reason = strings.TrimSuffix(r.Reason, model.NoteServiceAnswers503) + "; the last good version of the Service keeps serving"
				break
			}
			if (kind == r.Kind && key == r.Namespace+"/"+r.Name) || (kind == "Secret" && strings.Contains(r.Reason, "secret "+key+":")) {
				// Not the default certificate: the last good one.
				r.Reason = strings.TrimSuffix(strings.TrimSuffix(r.Reason, model.NoteHostsGetDefault), model.NoteGeneratedInstead)
				r.Reason += "; the last good version keeps serving"
				break
			}
		}
	}
}
