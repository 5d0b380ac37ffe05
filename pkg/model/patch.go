package model

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// An EndpointSlice feeds the model only through the endpoints (and slots)
// of the backends of its Service and through its own rejections, so an
// endpoint change needs none of the rest of Build: at 10k Ingresses Build
// takes 150-300 ms, a patch of one Service microseconds.

// ServiceSlices is one Service whose EndpointSlices changed, as the
// snapshot now holds it.
type ServiceSlices struct {
	Namespace, Name string
	// Service is the Service the previous model was built from (nil: it
	// had none): a patch only follows endpoint changes.
	Service *corev1.Service
	// Slices are the EndpointSlices labelled for the Service, in any order.
	Slices []*discoveryv1.EndpointSlice
}

// EndpointPatch is the result of PatchEndpoints.
type EndpointPatch struct {
	Config Config
	// Rejections are the EndpointSlice rejections of the patched Services;
	// ReplaceSliceRejections merges them into the previous model's.
	Rejections []Rejection
	// Backends names the backends whose endpoints changed, sorted.
	Backends []string
	// Services are the patched Services ("namespace/name"), sorted.
	Services []string
}

// PatchEndpoints returns the model that Build gives for the snapshot prev
// was built from with the EndpointSlices of the changed Services replaced.
// prev is not modified and the result shares every unchanged part of it.
// The Services and everything else must be those prev was built from.
func PatchEndpoints(prev *Config, changed []ServiceSlices, opts Options) EndpointPatch {
	b := newSliceBuilder(opts)
	var out EndpointPatch
	services := make(map[string]*corev1.Service, len(changed))
	for _, s := range changed {
		key := s.Namespace + "/" + s.Name
		out.Services = append(out.Services, key)
		services[key] = s.Service
		for _, slice := range s.Slices {
			if slice.Namespace == s.Namespace && slice.Labels[discoveryv1.LabelServiceName] == s.Name {
				b.indexSlice(slice, s.Name)
			}
		}
	}
	slices.Sort(out.Services)
	out.Services = slices.Compact(out.Services)
	out.Config = *prev
	var backends []*Backend // copied on the first change
	for _, key := range out.Services {
		namespace, service, _ := strings.Cut(key, "/")
		// Backends are sorted by name, and a Service's backend names share
		// the prefix BackendName gives them ('_' is in no Kubernetes name).
		prefix := BackendName(namespace, service, "")
		i, _ := slices.BinarySearchFunc(prev.Backends, prefix, func(be *Backend, p string) int { return strings.Compare(be.Name, p) })
		for ; i < len(prev.Backends) && strings.HasPrefix(prev.Backends[i].Name, prefix); i++ {
			be := prev.Backends[i]
			if be.Namespace != namespace || be.Service != service {
				continue
			}
			// Build gives a backend no endpoints (nil) exactly when its
			// Service port has a problem: missing, ExternalName, no such
			// port, or a Service option it refused, which may name a Secret
			// this builder does not have. The Service is unchanged, and so
			// is the problem; otherwise only the slices count.
			if be.Endpoints == nil {
				continue
			}
			svc := services[key]
			sp := findServicePort(svc, backendPort(be.Port))
			if sp == nil {
				continue // not the Service Build resolved: nothing to patch against
			}
			eps := b.endpoints(svc, sp)
			if slices.Equal(eps, be.Endpoints) {
				continue
			}
			if backends == nil {
				backends = slices.Clone(prev.Backends) // pointers: the unchanged backends are shared
			}
			patched := *be
			patched.Endpoints, patched.Slots = eps, SlotsFor(len(eps))
			backends[i] = &patched
			out.Backends = append(out.Backends, be.Name)
		}
	}
	slices.Sort(out.Backends)
	if backends != nil {
		out.Config.Backends = backends
	}
	for _, r := range b.rejections {
		if r.Kind == "EndpointSlice" && r.service != "" {
			out.Rejections = append(out.Rejections, r)
		}
	}
	return out
}

// ReplaceSliceRejections returns rejections with the EndpointSlice
// rejections of the patched Services replaced by the patch's, sorted as
// Build sorts them.
func ReplaceSliceRejections(rejections []Rejection, p *EndpointPatch) []Rejection {
	out := make([]Rejection, 0, len(rejections)+len(p.Rejections))
	for _, r := range rejections {
		if r.Kind == "EndpointSlice" {
			if _, patched := slices.BinarySearch(p.Services, r.service); patched {
				continue
			}
		}
		out = append(out, r)
	}
	return sortRejections(append(out, p.Rejections...))
}

// newSliceBuilder is a builder for indexSlice and endpoints alone, which
// read and write nothing else: newBuilder's maps and option index were
// most of a patch's allocations.
func newSliceBuilder(opts Options) *builder {
	return &builder{opts: opts, slices: map[string][]*discoveryv1.EndpointSlice{}}
}

// backendPort is the Ingress's reference to a Service port that Backend.Port
// spells: a port name always holds a letter (IANA_SVC_NAME).
func backendPort(port string) networkingv1.ServiceBackendPort {
	if n, err := strconv.ParseInt(port, 10, 32); err == nil {
		return networkingv1.ServiceBackendPort{Number: int32(n)}
	}
	return networkingv1.ServiceBackendPort{Name: port}
}

// indexSlice indexes an EndpointSlice of service in its namespace.
func (b *builder) indexSlice(s *discoveryv1.EndpointSlice, service string) {
	if !b.inScope(s.Namespace) {
		return
	}
	if err := validateNamespace(s.Namespace); err != nil {
		b.rejectSlice(s, "metadata.namespace", err.Error())
		return
	}
	if err := validateObjectName(s.Name); err != nil {
		b.rejectSlice(s, "metadata.name", err.Error())
		return
	}
	key := s.Namespace + "/" + service
	b.slices[key] = append(b.slices[key], s)
}

// rejectSlice rejects a part of an EndpointSlice, owned by its Service.
func (b *builder) rejectSlice(s *discoveryv1.EndpointSlice, field, reason string) {
	b.rejections = append(b.rejections, Rejection{Kind: "EndpointSlice", Namespace: s.Namespace, Name: s.Name,
		Field: field, Reason: reason, service: s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]})
}
