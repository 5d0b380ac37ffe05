package model

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// builder holds the indexes and the partial results of one Build call.
type builder struct {
	opts       Options
	classes    map[string]*networkingv1.IngressClass
	services   map[string]*corev1.Service              // "ns/name"
	slices     map[string][]*discoveryv1.EndpointSlice // "ns/service"
	secrets    map[string]*corev1.Secret               // "ns/name"
	configMaps map[string]*corev1.ConfigMap            // "ns/name"
	backends   map[string]*Backend                     // by name
	certs      map[string]*Certificate                 // by FileName
	rejections []Rejection

	routes       map[routeKey]routeOwner
	hostKeys     map[string]bool
	hostDefaults map[string]string
	redirects    map[string]bool
	// policies are the active route policies by Ingress; hostDefaultPolicy
	// the policy of each host default.
	policies          map[string]*RoutePolicy
	hostDefaultPolicy map[string]string
	sniOwners         map[string]string // SNI host -> certificate file name
	parsedCerts       map[string]certResult
	defaultFrom       string // Ingress that set the global default backend
	defaultPolicy     string // its policy key, "" when it has none
	config            Config

	// hostOwners: owners of host keys under first-namespace ownership.
	hostOwners map[string]hostOwner
	// validated holds the validation claimHosts already ran, for addIngress.
	validated map[*networkingv1.Ingress]validation

	optionTable      []Option
	optionIndex      optionIndex
	configMapBackend optionValues                      // backend defaults from the ConfigMap
	optionClaims     map[string]map[string]optionClaim // backend -> option -> claim
	serviceOpts      map[string]serviceOptions         // "ns/name", Services with options only
	serviceValues    map[string]optionValues           // backend -> its Service's options
	cas              map[string]CAFile                 // by FileName
	parsedCAs        map[string]caResult               // "ns/name" of the Secret
	clientCAs        map[string]CAFile                 // by FileName
	clientAuth       map[string]clientAuthClaim        // SNI host -> claim

	authSecrets map[string]*corev1.Secret // "ns/name"
	parsedAuth  map[string]authResult     // "ns/name"
	userlists   map[string]*Userlist      // by Name, the ones served
	authCost    int                       // of userlists

	secretsRead []string // "ns/name" of every Secret looked up (BuildReads)

	gateway gatewayState
}

// validation is the outcome of validateIngress.
type validation struct {
	route   RouteSettings
	backend optionValues
	errs    []fieldError
	// warnings are about options that have no effect.
	warnings []fieldError
}

type routeKey struct {
	hostKey string
	exact   bool
	path    string
}

type routeOwner struct {
	ingress string
	backend string
	// policy is the Ingress again when it has an active RoutePolicy.
	policy string
}

// Build turns a snapshot into a Config plus the rejections met on the way.
// The result does not depend on the order of the snapshot's slices.
func Build(snap Snapshot, opts Options) (Config, []Rejection) {
	b := build(snap, opts)
	return b.config, sortRejections(b.rejections)
}

func build(snap Snapshot, opts Options) *builder {
	b := newBuilder(opts)
	b.index(snap)
	b.config.Global = b.globalOptions()
	b.defaultCertificate()
	ours := b.ourIngresses(snap.Ingresses)
	b.config.NamedHosts = namedHosts(ours)
	b.reserve(ours)
	b.claimHosts(ours)
	for _, ing := range ours {
		b.addIngress(ing)
	}
	b.controllerDefaultBackend()
	b.addGateways(snap)
	b.finish()
	return b
}

// reserve sizes the per-route collections for ours: growing them was a
// tenth of a full build at 10k Ingresses.
func (b *builder) reserve(ours []*networkingv1.Ingress) {
	if len(b.routes) > 0 || len(b.backends) > 0 {
		return
	}
	paths := 0
	for _, ing := range ours {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP != nil {
				paths += len(rule.HTTP.Paths)
			}
		}
	}
	b.routes = make(map[routeKey]routeOwner, paths)
	b.hostKeys = make(map[string]bool, len(ours))
	b.backends = make(map[string]*Backend, min(paths, len(b.services))+1)
	if len(ours) > 0 {
		b.config.Served = make([]string, 0, len(ours))
	}
}

// newBuilder returns a builder with empty indexes.
func newBuilder(opts Options) *builder {
	b := &builder{
		opts:              opts,
		classes:           map[string]*networkingv1.IngressClass{},
		services:          map[string]*corev1.Service{},
		slices:            map[string][]*discoveryv1.EndpointSlice{},
		secrets:           map[string]*corev1.Secret{},
		configMaps:        map[string]*corev1.ConfigMap{},
		backends:          map[string]*Backend{},
		certs:             map[string]*Certificate{},
		routes:            map[routeKey]routeOwner{},
		hostKeys:          map[string]bool{},
		hostDefaults:      map[string]string{},
		redirects:         map[string]bool{},
		policies:          map[string]*RoutePolicy{},
		hostDefaultPolicy: map[string]string{},
		sniOwners:         map[string]string{},
		optionTable:       OptionTable(),
		optionClaims:      map[string]map[string]optionClaim{},
		serviceOpts:       map[string]serviceOptions{},
		serviceValues:     map[string]optionValues{},
		cas:               map[string]CAFile{},
		parsedCAs:         map[string]caResult{},
		clientCAs:         map[string]CAFile{},
		clientAuth:        map[string]clientAuthClaim{},
		authSecrets:       map[string]*corev1.Secret{},
		parsedAuth:        map[string]authResult{},
		userlists:         map[string]*Userlist{},
	}
	b.optionIndex = make(optionIndex, len(b.optionTable))
	for i := range b.optionTable {
		b.optionIndex[b.optionTable[i].Name] = &b.optionTable[i]
	}
	return b
}

func (b *builder) inScope(namespace string) bool {
	return b.opts.WatchNamespace == "" || b.opts.WatchNamespace == namespace
}

func (b *builder) index(snap Snapshot) {
	for _, c := range snap.IngressClasses {
		b.classes[c.Name] = c
	}
	for _, s := range snap.Services {
		if b.inScope(s.Namespace) && b.indexable("Service", s.Namespace, s.Name, validateServiceName) {
			b.services[s.Namespace+"/"+s.Name] = s
		}
	}
	for _, s := range snap.EndpointSlices {
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc != "" {
			b.indexSlice(s, svc)
		}
	}
	for _, s := range snap.Secrets {
		if !b.indexable("Secret", s.Namespace, s.Name, validateObjectName) {
			continue
		}
		b.secrets[s.Namespace+"/"+s.Name] = s
	}
	for _, s := range snap.AuthSecrets {
		if b.indexable("Secret", s.Namespace, s.Name, validateObjectName) {
			b.authSecrets[s.Namespace+"/"+s.Name] = s
		}
	}
	for _, c := range snap.ConfigMaps {
		if !b.indexable("ConfigMap", c.Namespace, c.Name, validateObjectName) {
			continue
		}
		b.configMaps[c.Namespace+"/"+c.Name] = c
	}
}

// indexable leaves out, with a rejection, an object whose namespace or name
// the API server would have refused: the model builds backend names, file
// names and config lines from them.
func (b *builder) indexable(kind, namespace, name string, checkName func(string) error) bool {
	if err := validateNamespace(namespace); err != nil {
		b.reject(kind, namespace, name, "metadata.namespace", err.Error())
		return false
	}
	if err := checkName(name); err != nil {
		b.reject(kind, namespace, name, "metadata.name", err.Error())
		return false
	}
	return true
}

func (b *builder) reject(kind, namespace, name, field, reason string) {
	b.rejections = append(b.rejections, Rejection{Kind: kind, Namespace: namespace, Name: name, Field: field, Reason: reason})
}

func (b *builder) warn(kind, namespace, name, field, reason string) {
	b.rejections = append(b.rejections, Rejection{Kind: kind, Namespace: namespace, Name: name, Field: field, Reason: reason, Warning: true})
}

// finish turns the collected maps into the sorted Config.
func (b *builder) finish() {
	c := &b.config
	if len(b.backends) > 0 {
		c.Backends = make([]*Backend, 0, len(b.backends))
	}
	for _, be := range b.backends {
		be.Slots = SlotsFor(len(be.Endpoints))
		b.resolveBackend(be)
		c.Backends = append(c.Backends, be)
	}
	slices.SortFunc(c.Backends, func(x, y *Backend) int { return cmp.Compare(x.Name, y.Name) })
	for _, ca := range b.cas {
		c.BackendCAs = append(c.BackendCAs, ca)
	}
	slices.SortFunc(c.BackendCAs, func(x, y CAFile) int { return cmp.Compare(x.FileName, y.FileName) })
	for _, cert := range b.certs {
		slices.Sort(cert.SNI)
		cert.SNI = slices.Compact(cert.SNI)
		c.Certificates = append(c.Certificates, *cert)
	}
	slices.SortFunc(c.Certificates, func(x, y Certificate) int { return cmp.Compare(x.FileName, y.FileName) })
	b.finishClientAuth()
	slices.Sort(c.Served)
	for _, u := range b.userlists {
		c.Userlists = append(c.Userlists, *u)
	}
	slices.SortFunc(c.Userlists, func(x, y Userlist) int { return cmp.Compare(x.Name, y.Name) })

	m := &c.Maps
	exact := 0
	for rk := range b.routes {
		if rk.exact {
			exact++
		}
	}
	m.Hosts = entriesFor(len(b.hostKeys))
	m.ExactPaths = entriesFor(exact)
	m.PrefixPaths = entriesFor(len(b.routes) - exact)
	for key := range b.hostKeys {
		m.addHost(key)
	}
	for rk, owner := range b.routes {
		m.addRoute(rk, owner.backend)
	}
	for key, backend := range b.hostDefaults {
		m.HostDefaults = append(m.HostDefaults, MapEntry{Key: key, Value: backend})
	}
	for key := range b.redirects {
		if b.hostKeys[key] {
			m.Redirects = append(m.Redirects, MapEntry{Key: key, Value: "https"})
		}
	}
	b.addPolicyMaps()
	for _, entries := range append([]*[]MapEntry{&m.Hosts, &m.Wildcards, &m.ExactPaths, &m.PrefixPaths, &m.HostDefaults, &m.Redirects,
		&m.ServerTimeouts, &m.TunnelTimeouts, &m.BodySizes}, m.Policy.Lists()...) {
		slices.SortFunc(*entries, func(x, y MapEntry) int { return cmp.Compare(x.Key, y.Key) })
	}
}

// namedHosts returns the host keys that ours name in a rule or a TLS
// entry, valid or not, sorted: AddIngress takes in only Ingresses whose
// hosts no other one names.
func namedHosts(ours []*networkingv1.Ingress) []string {
	var named []string
	for _, ing := range ours {
		for _, rule := range ing.Spec.Rules {
			named = append(named, hostKeyOf(rule.Host))
		}
		for _, tls := range ing.Spec.TLS {
			named = append(named, tls.Hosts...)
		}
	}
	slices.Sort(named)
	return slices.Compact(named)
}

// addHost appends the entry of a host key: the exact hosts map or the
// wildcards map; rules without a host need none.
func (m *Maps) addHost(key string) {
	switch {
	case key == HostlessKey:
	case strings.HasPrefix(key, "*."):
		m.Wildcards = append(m.Wildcards, MapEntry{Key: key[1:], Value: key})
	default:
		m.Hosts = append(m.Hosts, MapEntry{Key: key, Value: key})
	}
}

// addRoute appends the entry of a route to backend.
func (m *Maps) addRoute(rk routeKey, backend string) {
	if rk.exact {
		m.ExactPaths = append(m.ExactPaths, MapEntry{Key: rk.mapKey(), Value: backend})
	} else {
		m.PrefixPaths = append(m.PrefixPaths, MapEntry{Key: rk.mapKey(), Value: backend})
	}
}

// mapKey is the route's key in the exact or the prefix paths map.
func (rk routeKey) mapKey() string {
	if rk.exact {
		return rk.hostKey + rk.path
	}
	return PrefixKey(rk.hostKey, rk.path)
}

// entriesFor is room for n map entries; nil for none, as appending to
// nothing leaves it.
func entriesFor(n int) []MapEntry {
	if n == 0 {
		return nil
	}
	return make([]MapEntry, 0, n)
}

// PrefixKey is the prefix-map key of a normalized Prefix path: the request
// side appends "/" to the path too, so "/foo" matches "/foo" and "/foo/bar"
// but not "/foobar".
func PrefixKey(hostKey, normalizedPath string) string {
	return hostKey + normalizedPath + "/"
}

// SlotsFor returns the number of server slots for n endpoints: a power of
// two, at least 8, with at least half again as many spare slots plus one,
// so that scaling a small Deployment to 5 or 6 replicas and make-before-break
// swaps need no reload. Every slot costs HAProxy memory (about 5 KB per
// server at 10k backends), so the headroom is not larger.
func SlotsFor(n int) int {
	slots := 8
	for slots < n+n/2+1 {
		slots *= 2
	}
	return slots
}
