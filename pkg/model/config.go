package model

import (
	"net/netip"
	"slices"
	"time"
)

// Config is the routing model: everything the renderer needs, sorted.
type Config struct {
	// Backends are sorted by Name.
	Backends []*Backend
	// DefaultBackend names the backend for requests that match nothing; ""
	// means the built-in 404.
	DefaultBackend string
	Maps           Maps
	// Certificates are sorted by FileName. The default certificate is apart.
	Certificates       []Certificate
	DefaultCertificate []byte
	Global             Global
	// BackendCAs are the CA bundles backends verify endpoints with, sorted
	// by FileName.
	BackendCAs []CAFile
	// ClientCAs are the CA bundles client certificates are verified with
	// (Certificate.ClientAuth), sorted by FileName. A Secret that is both
	// kinds of CA is one file.
	ClientCAs []CAFile
	// Userlists are the users of the auth Secrets that served Ingresses
	// use, sorted by Name.
	Userlists []Userlist
	// Served lists the Ingresses ("namespace/name") that passed validation,
	// sorted: the ones whose status shows the published address.
	Served []string
	// NamedHosts are the host keys that the rules and TLS entries of our
	// Ingresses name, served or not, sorted (AddIngress).
	NamedHosts []string
	// Gateways are the frontends of the Gateway API listeners, sorted by
	// Name; GatewayStatus is what the Gateway API objects' status should
	// be (nil when the Gateway API is off).
	Gateways      []GatewayFrontend
	GatewayStatus *GatewayStatus
	// GatewayCertificates are the certificates only Gateway listeners
	// serve, sorted by FileName: files of their own, outside the
	// crt-list of the Ingress frontend.
	GatewayCertificates []Certificate
}

// Maps hold the routing tables, each sorted by Key. Host keys are the
// lower-case host, "*.domain" for wildcards, or HostlessKey.
type Maps struct {
	// Hosts maps an exact host to its host key.
	Hosts []MapEntry
	// Wildcards maps ".domain" (the request host minus its first label) to
	// the wildcard host key "*.domain".
	Wildcards []MapEntry
	// ExactPaths maps hostkey+path to a backend.
	ExactPaths []MapEntry
	// PrefixPaths maps hostkey+path+"/" to a backend; HAProxy's map_beg picks
	// the longest entry, which gives element-wise longest-prefix matching.
	PrefixPaths []MapEntry
	// HostDefaults maps a host key to the backend for its unmatched paths.
	HostDefaults []MapEntry
	// Redirects lists host keys whose plain-HTTP requests go to HTTPS.
	Redirects []MapEntry
	// ServerTimeouts and TunnelTimeouts map a backend to its timeout in
	// milliseconds, BodySizes to its largest request body in bytes: the
	// backend options HAProxy reads per request. A backend without an
	// entry has the defaults section's timeouts and no body limit.
	ServerTimeouts []MapEntry
	TunnelTimeouts []MapEntry
	BodySizes      []MapEntry
	// Policy holds the route policies.
	Policy PolicyMaps
}

// HostlessKey is the host key of rules without a host. "_" is not valid in
// a DNS name, so it never collides with a real host.
const HostlessKey = "_"

// MapEntry is one line of a map file.
type MapEntry struct {
	Key   string
	Value string
}

// Backend is one Service port.
type Backend struct {
	Name      string
	Namespace string
	Service   string
	// Port is the port as the Ingress referenced it: a number or a name.
	Port      string
	Endpoints []Endpoint
	// Slots is the number of server slots to render (endpoints plus headroom).
	Slots   int
	Options BackendOptions
}

// Endpoint is one address that may receive traffic. In a backend's
// Endpoints, an Endpoint with an invalid (zero) Address is a free slot: the
// controller keeps slots in place across runtime changes.
type Endpoint struct {
	Address netip.Addr
	Port    int32
	// Draining endpoints are terminating: they keep their connections but
	// get no new requests.
	Draining bool
}

// Certificate is a TLS certificate with its key, normalized to PEM.
type Certificate struct {
	// FileName is derived from the Secret's namespace and name.
	FileName string
	Secret   string
	PEM      []byte
	// SNI lists the host names this certificate serves, sorted.
	SNI      []string
	NotAfter time.Time
	// ClientAuth lists the hosts of SNI that ask for a client certificate,
	// sorted by Host.
	ClientAuth []ClientAuth
}

// ClientAuth is a host whose TLS handshakes ask for a client certificate,
// verified with the CA file CAFile (under the CA directory).
type ClientAuth struct {
	Host   string
	CAFile string
}

// CrtListLine is one line of the crt-list: hosts of a certificate that
// share their client CA ("" for hosts that ask for no client certificate).
type CrtListLine struct {
	ClientCAFile string
	SNI          []string
}

// CrtListLines splits the certificate's hosts over crt-list lines: one
// group per client CA (the hosts without one first), each as SNILines
// splits them. HAProxy takes SSL options per line, so hosts that ask for
// a client certificate cannot share a line with hosts that do not.
func (c *Certificate) CrtListLines() []CrtListLine {
	if len(c.ClientAuth) == 0 {
		var out []CrtListLine
		for _, line := range c.SNILines() {
			out = append(out, CrtListLine{SNI: line})
		}
		return out
	}
	ca := make(map[string]string, len(c.ClientAuth))
	var files []string
	for _, a := range c.ClientAuth {
		ca[a.Host] = a.CAFile
		files = append(files, a.CAFile)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	groups := map[string][]string{}
	for _, h := range c.SNI {
		groups[ca[h]] = append(groups[ca[h]], h)
	}
	var out []CrtListLine
	for _, file := range append([]string{""}, files...) {
		if len(groups[file]) == 0 {
			continue
		}
		for _, line := range splitSNI(groups[file]) {
			out = append(out, CrtListLine{ClientCAFile: file, SNI: line})
		}
	}
	return out
}

// SNILines splits the certificate's hosts over crt-list lines of at most
// SNIHostsPerLine hosts and SNIBytesPerLine bytes of names, in order.
func (c *Certificate) SNILines() [][]string {
	return splitSNI(c.SNI)
}

func splitSNI(hosts []string) [][]string {
	var lines [][]string
	var line []string
	size := 0
	for _, h := range hosts {
		if len(line) == SNIHostsPerLine || (len(line) > 0 && size+len(h)+1 > SNIBytesPerLine) {
			lines = append(lines, line)
			line, size = nil, 0
		}
		line = append(line, h)
		size += len(h) + 1
	}
	if len(line) > 0 || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// Global holds the options of the global ConfigMap.
type Global struct {
	SSLRedirect bool
	Timeouts    Timeouts
}

// Timeouts are HAProxy's proxy timeouts.
type Timeouts struct {
	Connect       time.Duration
	Client        time.Duration
	Server        time.Duration
	HTTPRequest   time.Duration
	HTTPKeepAlive time.Duration
	Tunnel        time.Duration
}

// DefaultGlobal returns the global options used when no ConfigMap sets them.
func DefaultGlobal() Global {
	return Global{
		SSLRedirect: true,
		Timeouts: Timeouts{
			Connect:       5 * time.Second,
			Client:        60 * time.Second,
			Server:        60 * time.Second,
			HTTPRequest:   10 * time.Second,
			HTTPKeepAlive: 60 * time.Second,
			Tunnel:        time.Hour,
		},
	}
}

// Backend returns the backend with the given name.
func (c *Config) Backend(name string) (*Backend, bool) {
	lo, hi := 0, len(c.Backends)
	for lo < hi {
		mid := (lo + hi) / 2
		if c.Backends[mid].Name < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(c.Backends) && c.Backends[lo].Name == name {
		return c.Backends[lo], true
	}
	return nil, false
}
