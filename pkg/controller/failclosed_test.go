package controller

import (
	"bytes"
	"cmp"
	"encoding/pem"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// The runtime diff fails closed (static.go): whatever field of the model
// changes, the diff either plans commands that take HAProxy to the wanted
// state or reloads. These tests change every leaf field of model.Config in
// turn, found by reflection so that a field added later is covered (or
// fails the test) without anyone listing it, and check the outcome with a
// small simulator of the runtime API.

// noopFields are the fields whose change HAProxy does not see: the diff
// must plan nothing for them, neither commands nor a reload. Keys are type
// paths (indices as "[]").
var noopFields = map[string]string{
	"Served":       "Ingress status only: which Ingresses show the published address",
	"Served[]":     "Ingress status only: which Ingresses show the published address",
	"NamedHosts":   "the model's own bookkeeping for model.AddIngress; the maps hold what HAProxy routes",
	"NamedHosts[]": "the model's own bookkeeping for model.AddIngress; the maps hold what HAProxy routes",
	"Backends[].Slots": "headroom of a fresh render: the running layout keeps the slots HAProxy has " +
		"and follows endpoints at run time (backendFields); a reload renders the new count",
	"Certificates[].NotAfter": "derived from the PEM for expiry warnings; HAProxy reads only the PEM " +
		"(sameCertificateBesidesPEM)",
	"GatewayStatus": "Gateway API status only: what the Gateway API objects' status shows",
}

// fixture is the rich base config and spare PEMs for mutations.
type fixture struct {
	base     *model.Config
	altPEM   []byte // a valid certificate no base field holds
	extraPEM []byte // for an added certificate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now()
	pair := func(names ...string) []byte {
		p, err := tlscert.SelfSigned(names, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return p.Combined()
	}
	ca, err := tlscert.SelfSigned([]string{"ca.internal"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ep := func(addr string, port int32, draining bool) model.Endpoint {
		return model.Endpoint{Address: netip.MustParseAddr(addr), Port: port, Draining: draining}
	}
	e := func(k, v string) model.MapEntry { return model.MapEntry{Key: k, Value: v} }
	cfg := &model.Config{
		Backends: []*model.Backend{
			{
				Name: "ns_api_80", Namespace: "ns", Service: "api", Port: "http",
				Endpoints: []model.Endpoint{ep("198.18.0.10", 8443, false), ep("198.18.0.20", 8443, true)},
				Slots:     4,
				Options: model.BackendOptions{
					TimeoutConnect:      3 * time.Second,
					Protocol:            model.ProtocolHTTPS,
					CAFile:              "ns_ca.pem",
					SNI:                 "api.internal",
					Balance:             "leastconn",
					HealthCheckPath:     "/healthz",
					HealthCheckInterval: 2 * time.Second,
					AffinityCookie:      "route",
					Policies:            true,
					RequestHeaders:      "x-a",
					AuthRules:           "auth_ns_users|Realm",
					ResponseHeaders:     "x-b",
				},
			},
			{
				Name: "ns_web_80", Namespace: "ns", Service: "web", Port: "80",
				Endpoints: []model.Endpoint{ep("198.18.0.30", 8080, false), ep("198.18.0.40", 8080, false), ep("2001:db8::10", 8080, false)},
				Slots:     8,
			},
		},
		DefaultBackend: "ns_web_80",
		Maps: model.Maps{
			Hosts:          []model.MapEntry{e("a.example", "a.example"), e("b.example", "b.example")},
			Wildcards:      []model.MapEntry{e(".w.example", "*.w.example")},
			ExactPaths:     []model.MapEntry{e("a.example/x", "ns_api_80")},
			PrefixPaths:    []model.MapEntry{e("a.example/", "ns_api_80"), e("b.example/", "ns_web_80")},
			HostDefaults:   []model.MapEntry{e("*.w.example", "ns_web_80")},
			Redirects:      []model.MapEntry{e("a.example", "https")},
			ServerTimeouts: []model.MapEntry{e("ns_api_80", "30000")},
			TunnelTimeouts: []model.MapEntry{e("ns_api_80", "7200000")},
			BodySizes:      []model.MapEntry{e("ns_web_80", "1048576")},
			Policy: model.PolicyMaps{
				PolicyExact:      []model.MapEntry{e("a.example/x", "ns/api")},
				PolicyPrefix:     []model.MapEntry{e("a.example/", "ns/api")},
				PolicyHost:       []model.MapEntry{e("a.example", model.NoPolicy)},
				Access:           []model.MapEntry{e("ns/api", "allow")},
				CIDRs:            []model.MapEntry{e("10.0.0.0/8", "10.0.0.0/8")},
				CIDRMembers:      []model.MapEntry{e("ns/api|10.0.0.0/8", "allow")},
				LimitRPS:         []model.MapEntry{e("ns/api", "10")},
				LimitConnections: []model.MapEntry{e("ns/api", "5")},
				CORS:             []model.MapEntry{e("ns/api", "list")},
				CORSOrigins:      []model.MapEntry{e("ns/api|https://a.example", "1")},
				CORSMethods:      []model.MapEntry{e("ns/api", "GET")},
				CORSHeaders:      []model.MapEntry{e("ns/api", "X-A")},
				CORSMaxAge:       []model.MapEntry{e("ns/api", "60")},
				CORSCredentials:  []model.MapEntry{e("ns/api", "true")},
				HSTS:             []model.MapEntry{e("ns/api", "max-age%3D60")},
				RequestHeaders:   []model.MapEntry{e("ns/api|x-a", "1")},
				ResponseHeaders:  []model.MapEntry{e("ns/api|x-b", "2")},
				RewriteExact:     []model.MapEntry{e("ns/api|a.example/x", "E|%2Fy")},
				RewritePrefix:    []model.MapEntry{e("ns/api|a.example/", "0|%2F")},
				AppRoot:          []model.MapEntry{e("ns/api", "%2Fapp")},
				Redirects:        []model.MapEntry{e("ns/api", "301|https%3A%2F%2Fb.example%2F")},
				Features:         []model.MapEntry{e("ns/api", "alrpcwhqst")},
				ClientCert:       []model.MapEntry{e("ns/api", "on")},
				Auth:             []model.MapEntry{e("ns/api", "auth_ns_users.0123456789ab")},
			},
		},
		Certificates: []model.Certificate{
			{FileName: "ns_a.pem", Secret: "ns/a", PEM: pair("a.example"), SNI: []string{"a.example"}, NotAfter: now.Add(time.Hour).Truncate(time.Second)},
			{FileName: "ns_b.pem", Secret: "ns/b", PEM: pair("b.example", "*.w.example"), SNI: []string{"*.w.example", "b.example"}, NotAfter: now.Add(2 * time.Hour).Truncate(time.Second),
				ClientAuth: []model.ClientAuth{{Host: "b.example", CAFile: "ns_ca.pem"}}},
		},
		DefaultCertificate: pair("default.invalid"),
		Global:             model.DefaultGlobal(),
		BackendCAs:         []model.CAFile{{FileName: "ns_ca.pem", Secret: "ns/ca", PEM: ca.CertPEM}},
		ClientCAs:          []model.CAFile{{FileName: "ns_ca.pem", Secret: "ns/ca", PEM: ca.CertPEM}},
		Userlists: []model.Userlist{{Name: "auth_ns_users", Secret: "ns/users", Cost: 1,
			Users: []model.User{{Name: "alice", Hash: "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"}}}},
		Served:     []string{"ns/api", "ns/web"},
		NamedHosts: []string{"a.example", "b.example"},
		Gateways: []model.GatewayFrontend{{
			Name: "gw_127.1.2.3_443", Address: "127.1.2.3", Port: 443, TLS: true,
			Certificates: []model.GatewayCertificate{{FileName: "ns_g.pem", SNI: "g.example"}},
			Listeners:    []model.GatewayListener{{ID: "l0", Hostname: "g.example"}},
			Rules: []model.GatewayRule{{
				ID: "r0", Listener: "l0", Hostname: "g.example", PathExact: true, Path: "/x", Method: "GET",
				Headers: []model.NameValue{{Name: "x-h", Value: "v"}}, Query: []model.NameValue{{Name: "q", Value: "1"}},
				Backends: []model.WeightedBackend{{Backend: "ns_api_80", Weight: 1,
					RequestHeaders: model.HeaderEdits{Set: []model.NameValue{{Name: "x-b", Value: "1"}}, Add: []model.NameValue{{Name: "x-c", Value: "2"}}, Remove: []string{"x-d"}}}},
				RequestHeaders:  model.HeaderEdits{Set: []model.NameValue{{Name: "x-s", Value: "1"}}, Add: []model.NameValue{{Name: "x-a", Value: "2"}}, Remove: []string{"x-r"}},
				ResponseHeaders: model.HeaderEdits{Set: []model.NameValue{{Name: "x-s", Value: "1"}}, Add: []model.NameValue{{Name: "x-a", Value: "2"}}, Remove: []string{"x-r"}},
				Redirect:        &model.GatewayRedirect{Scheme: "https", Hostname: "r.example", Port: 8443, StatusCode: 302, Path: model.PathModifier{Kind: "prefix", Value: "/y", Matched: "/x"}},
				Rewrite:         &model.GatewayRewrite{Hostname: "w.example", Path: model.PathModifier{Kind: "full", Value: "/z", Matched: "/x"}},
				Route:           "ns/route",
			}},
		}},
		GatewayStatus: &model.GatewayStatus{},
		GatewayCertificates: []model.Certificate{{FileName: "ns_g.pem", Secret: "ns/g", PEM: pair("g.example"), SNI: []string{"g.example"},
			NotAfter: now.Add(time.Hour).Truncate(time.Second), ClientAuth: []model.ClientAuth{{Host: "g.example", CAFile: "ns_ca.pem"}}}},
	}
	return &fixture{base: cfg, altPEM: pair("alt.example"), extraPEM: pair("new.example")}
}

// copyConfig deep-copies a config by reflection: every slice is new, so a
// mutation of the copy never reaches the original.
func copyConfig(t *testing.T, cfg *model.Config) *model.Config {
	t.Helper()
	out := new(model.Config)
	if err := deepCopy(reflect.ValueOf(out).Elem(), reflect.ValueOf(cfg).Elem()); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	addrType     = reflect.TypeFor[netip.Addr]()
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	bytesType    = reflect.TypeFor[[]byte]()
	// The Gateway API status is one value: the diff never reads it.
	gatewayStatusType = reflect.TypeFor[*model.GatewayStatus]()
)

// wholeValue types are copied and mutated as whole values.
func wholeValue(t reflect.Type) bool {
	return t == addrType || t == timeType || t == gatewayStatusType
}

func deepCopy(dst, src reflect.Value) error {
	switch {
	case wholeValue(src.Type()):
		dst.Set(src)
	case src.Kind() == reflect.Slice:
		if src.IsNil() {
			dst.Set(reflect.Zero(src.Type()))
			return nil
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			if err := deepCopy(s.Index(i), src.Index(i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case src.Kind() == reflect.Pointer:
		if src.IsNil() {
			dst.Set(reflect.Zero(src.Type()))
			return nil
		}
		p := reflect.New(src.Type().Elem())
		if err := deepCopy(p.Elem(), src.Elem()); err != nil {
			return err
		}
		dst.Set(p)
	case src.Kind() == reflect.Array:
		for i := range src.Len() {
			if err := deepCopy(dst.Index(i), src.Index(i)); err != nil {
				return err
			}
		}
	case src.Kind() == reflect.Struct:
		for i := range src.NumField() {
			if !src.Type().Field(i).IsExported() {
				return fmt.Errorf("copy: %s.%s is unexported; teach the test its type", src.Type(), src.Type().Field(i).Name)
			}
			if err := deepCopy(dst.Field(i), src.Field(i)); err != nil {
				return err
			}
		}
	case basicKind(src.Kind()):
		dst.Set(src)
	default:
		return fmt.Errorf("copy: cannot deep-copy a %s (%s); teach the test", src.Kind(), src.Type())
	}
	return nil
}

func basicKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// leafType reports whether values of t are mutated whole.
func leafType(t reflect.Type) bool {
	return wholeValue(t) || t == bytesType || basicKind(t.Kind())
}

// typeLeaves lists the type paths of every leaf field reachable from t, and
// the ones the walker cannot handle.
func typeLeaves(t reflect.Type, path string, leaves map[string]bool, bad *[]string) {
	switch {
	case leafType(t):
		leaves[path] = true
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		typeLeaves(t.Elem(), path+"[]", leaves, bad)
	case t.Kind() == reflect.Pointer:
		typeLeaves(t.Elem(), path, leaves, bad)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				*bad = append(*bad, path+"."+f.Name+" (unexported)")
				continue
			}
			typeLeaves(f.Type, joinPath(path, f.Name), leaves, bad)
		}
	default:
		*bad = append(*bad, fmt.Sprintf("%s (%s)", path, t))
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// step navigates from a value to a field (field >= 0), a slice element
// (field -1) or what a pointer points to (field derefStep).
type step struct {
	field, index int
}

const derefStep = -2

func navigate(v reflect.Value, steps []step) reflect.Value {
	for _, s := range steps {
		switch {
		case s.field >= 0:
			v = v.Field(s.field)
		case s.field == derefStep:
			v = v.Elem()
		default:
			v = v.Index(s.index)
		}
	}
	return v
}

// mutation is one change of the base config.
type mutation struct {
	name    string // value path, e.g. Backends[1].Endpoints[0].Address
	pattern string // type path, e.g. Backends[].Endpoints[].Address
	// noop says why HAProxy does not see this change, for one that is
	// not a field of noopFields.
	noop  string
	apply func(cfg *model.Config) error
}

// walk lists a mutation for every leaf of v and a removal for every element
// of every slice (a []byte is a leaf), and records the leaves it met.
func (f *fixture) walk(v reflect.Value, steps []step, name, pattern string, seen map[string]bool, out *[]mutation, bad *[]string) {
	t := v.Type()
	switch {
	case leafType(t):
		seen[pattern] = true
		steps := slices.Clone(steps)
		*out = append(*out, mutation{name: name, pattern: pattern, apply: func(cfg *model.Config) error {
			return f.mutateLeaf(navigate(reflect.ValueOf(cfg).Elem(), steps))
		}})
	case t.Kind() == reflect.Slice:
		for i := range v.Len() {
			elem := append(slices.Clone(steps), step{field: -1, index: i})
			f.walk(v.Index(i), elem, fmt.Sprintf("%s[%d]", name, i), pattern+"[]", seen, out, bad)
			steps, i := slices.Clone(steps), i
			*out = append(*out, mutation{name: fmt.Sprintf("remove %s[%d]", name, i), pattern: pattern, apply: func(cfg *model.Config) error {
				s := navigate(reflect.ValueOf(cfg).Elem(), steps)
				var removed reflect.Value = s.Index(i)
				if pattern == "Backends" {
					dropRoutes(cfg, reflect.Indirect(removed).Interface().(model.Backend).Name)
					s = navigate(reflect.ValueOf(cfg).Elem(), steps)
				}
				n := reflect.MakeSlice(s.Type(), 0, s.Len()-1)
				n = reflect.AppendSlice(n, s.Slice(0, i))
				n = reflect.AppendSlice(n, s.Slice(i+1, s.Len()))
				s.Set(n)
				return nil
			}})
		}
	case t.Kind() == reflect.Pointer:
		f.walk(v.Elem(), append(slices.Clone(steps), step{field: derefStep}), name, pattern, seen, out, bad)
	case t.Kind() == reflect.Array:
		for i := range v.Len() {
			elem := append(slices.Clone(steps), step{field: -1, index: i})
			f.walk(v.Index(i), elem, fmt.Sprintf("%s[%d]", name, i), pattern+"[]", seen, out, bad)
		}
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			fld := t.Field(i)
			if !fld.IsExported() {
				*bad = append(*bad, pattern+"."+fld.Name+" (unexported)")
				continue
			}
			f.walk(v.Field(i), append(slices.Clone(steps), step{field: i}), joinPath(name, fld.Name), joinPath(pattern, fld.Name), seen, out, bad)
		}
	default:
		*bad = append(*bad, fmt.Sprintf("%s (%s)", name, t))
	}
}

// mutateLeaf changes a leaf to another valid value of its type.
func (f *fixture) mutateLeaf(v reflect.Value) error {
	switch v.Type() {
	case addrType:
		a := v.Interface().(netip.Addr)
		if !a.IsValid() {
			v.Set(reflect.ValueOf(netip.MustParseAddr("198.51.100.1")))
		} else {
			v.Set(reflect.ValueOf(a.Next()))
		}
		return nil
	case timeType:
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		return nil
	case durationType:
		v.SetInt(v.Int() + int64(time.Second))
		return nil
	case gatewayStatusType:
		v.Set(reflect.ValueOf(&model.GatewayStatus{Classes: []model.ObjectStatus{{Name: "changed"}}}))
		return nil
	case bytesType:
		// PEM stays valid PEM (a runtime command refuses anything else).
		b := v.Bytes()
		if block, _ := pem.Decode(b); block != nil {
			if bytes.Equal(b, f.altPEM) {
				return fmt.Errorf("the base config holds the spare PEM")
			}
			v.SetBytes(slices.Clone(f.altPEM))
		} else {
			v.SetBytes(append(slices.Clone(b), 'x'))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	default:
		return fmt.Errorf("cannot mutate a %s (%s); teach the test", v.Kind(), v.Type())
	}
	return nil
}

// dropRoutes removes the map entries that name a backend, as Build does
// when a backend goes: a removed backend that maps still route to is not a
// config Build makes.
func dropRoutes(cfg *model.Config, backend string) {
	for _, p := range []*[]model.MapEntry{&cfg.Maps.ExactPaths, &cfg.Maps.PrefixPaths, &cfg.Maps.HostDefaults,
		&cfg.Maps.ServerTimeouts, &cfg.Maps.TunnelTimeouts, &cfg.Maps.BodySizes} {
		*p = slices.DeleteFunc(slices.Clone(*p), func(e model.MapEntry) bool { return e.Key == backend || e.Value == backend })
	}
}

// additions are the mutations that add a slice element.
func (f *fixture) additions() []mutation {
	ep := model.Endpoint{Address: netip.MustParseAddr("198.18.1.1"), Port: 8080}
	newBackend := func(name string, opts model.BackendOptions) func(cfg *model.Config) error {
		return func(cfg *model.Config) error {
			be := model.Backend{Name: name, Namespace: "ns", Service: "new", Port: "80",
				Endpoints: []model.Endpoint{ep, {Address: netip.MustParseAddr("198.18.1.2"), Port: 8080, Draining: true}},
				Slots:     4, Options: opts}
			cfg.Backends = append(cfg.Backends, &be)
			slices.SortFunc(cfg.Backends, func(a, b *model.Backend) int { return strings.Compare(a.Name, b.Name) })
			cfg.Maps.Hosts = append(cfg.Maps.Hosts, model.MapEntry{Key: "new.example", Value: "new.example"})
			cfg.Maps.PrefixPaths = append(cfg.Maps.PrefixPaths, model.MapEntry{Key: "new.example/", Value: name})
			return nil
		}
	}
	muts := []mutation{
		{name: "add backend (runtime-creatable)", pattern: "Backends", apply: newBackend("ns_new_80", model.BackendOptions{})},
		{name: "add backend (with options)", pattern: "Backends", apply: newBackend("ns_new_80", model.BackendOptions{Balance: "leastconn"})},
		{name: "add certificate", pattern: "Certificates", apply: func(cfg *model.Config) error {
			cfg.Certificates = append(cfg.Certificates, model.Certificate{FileName: "ns_new.pem", Secret: "ns/new",
				PEM: slices.Clone(f.extraPEM), SNI: []string{"new.example"}, NotAfter: time.Now().Add(time.Hour)})
			slices.SortFunc(cfg.Certificates, func(a, b model.Certificate) int { return strings.Compare(a.FileName, b.FileName) })
			return nil
		}},
		{name: "add certificate asking for client certificates", pattern: "Certificates", apply: func(cfg *model.Config) error {
			cfg.Certificates = append(cfg.Certificates, model.Certificate{FileName: "ns_new.pem", Secret: "ns/new",
				PEM: slices.Clone(f.extraPEM), SNI: []string{"new.example"}, NotAfter: time.Now().Add(time.Hour),
				ClientAuth: []model.ClientAuth{{Host: "new.example", CAFile: "ns_ca.pem"}}})
			slices.SortFunc(cfg.Certificates, func(a, b model.Certificate) int { return strings.Compare(a.FileName, b.FileName) })
			return nil
		}},
		{name: "ask for client certificates on Certificates[0]", pattern: "Certificates[].ClientAuth", apply: func(cfg *model.Config) error {
			cfg.Certificates[0].ClientAuth = []model.ClientAuth{{Host: cfg.Certificates[0].SNI[0], CAFile: "ns_ca.pem"}}
			return nil
		}},
		{name: "add client CA file", pattern: "ClientCAs", apply: func(cfg *model.Config) error {
			cfg.ClientCAs = append(cfg.ClientCAs, model.CAFile{FileName: "ns_ca2.pem", Secret: "ns/ca2", PEM: slices.Clone(f.altPEM)})
			return nil
		}},
		{name: "add SNI host to Certificates[0]", pattern: "Certificates[].SNI", apply: func(cfg *model.Config) error {
			cfg.Certificates[0].SNI = append(cfg.Certificates[0].SNI, "z.example")
			return nil
		}},
		{name: "add CA file", pattern: "BackendCAs", apply: func(cfg *model.Config) error {
			cfg.BackendCAs = append(cfg.BackendCAs, model.CAFile{FileName: "ns_ca2.pem", Secret: "ns/ca2", PEM: slices.Clone(f.altPEM)})
			return nil
		}},
		{name: "add Served", pattern: "Served", apply: func(cfg *model.Config) error {
			cfg.Served = append(cfg.Served, "ns/zzz")
			return nil
		}},
		{name: "add NamedHosts", pattern: "NamedHosts", apply: func(cfg *model.Config) error {
			cfg.NamedHosts = append(cfg.NamedHosts, "z.example")
			return nil
		}},
	}
	for i := range f.base.Backends {
		muts = append(muts, mutation{name: fmt.Sprintf("add endpoint to Backends[%d]", i), pattern: "Backends[].Endpoints",
			apply: func(cfg *model.Config) error {
				cfg.Backends[i].Endpoints = append(cfg.Backends[i].Endpoints, ep)
				return nil
			}},
			mutation{name: fmt.Sprintf("add draining endpoint to Backends[%d]", i), pattern: "Backends[].Endpoints",
				noop: "a new endpoint that is already draining gets no slot (slotLayout.plan): it would get no new requests",
				apply: func(cfg *model.Config) error {
					cfg.Backends[i].Endpoints = append(cfg.Backends[i].Endpoints, model.Endpoint{Address: ep.Address, Port: ep.Port, Draining: true})
					return nil
				}})
	}
	for _, mf := range mapFields() {
		muts = append(muts, mutation{name: "add entry to Maps." + mf.name, pattern: "Maps." + mf.name, apply: func(cfg *model.Config) error {
			p := mf.get(&cfg.Maps)
			*p = append(*p, model.MapEntry{Key: "added.example", Value: "ns_web_80"})
			return nil
		}})
	}
	return muts
}

type mapField struct {
	name string
	get  func(*model.Maps) *[]model.MapEntry
}

// mapFields lists the map fields of model.Maps by reflection.
func mapFields() []mapField {
	var out []mapField
	t := reflect.TypeFor[model.Maps]()
	for i := range t.NumField() {
		if t.Field(i).Type != reflect.TypeFor[[]model.MapEntry]() {
			continue
		}
		out = append(out, mapField{name: t.Field(i).Name, get: func(m *model.Maps) *[]model.MapEntry {
			return reflect.ValueOf(m).Elem().Field(i).Addr().Interface().(*[]model.MapEntry)
		}})
	}
	return out
}

// mutations lists every mutation of the base config; it fails the test
// for a field the walker cannot change or a leaf the base leaves empty.
func (f *fixture) mutations(t *testing.T) []mutation {
	t.Helper()
	var muts []mutation
	var bad []string
	seen := map[string]bool{}
	f.walk(reflect.ValueOf(f.base).Elem(), nil, "", "", seen, &muts, &bad)
	all := map[string]bool{}
	typeLeaves(reflect.TypeFor[model.Config](), "", all, &bad)
	for _, b := range slices.Compact(slices.Sorted(slices.Values(bad))) {
		t.Errorf("field %s: the test cannot mutate it; teach it (a new field must not be skipped)", b)
	}
	for leaf := range all {
		if !seen[leaf] {
			t.Errorf("leaf %s is not reached from the base config (an empty slice?); extend newFixture", leaf)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return append(muts, f.additions()...)
}

func TestDiffFailsClosedForEveryField(t *testing.T) {
	f := newFixture(t)
	pristine := copyConfig(t, f.base)
	features := map[string]haproxy.Features{
		"2.6": versionFeatures(t, "2.6.12"),
		"3.4": versionFeatures(t, "3.4.7"),
	}
	if features["2.6"].RuntimeBackends || !features["3.4"].RuntimeBackends {
		t.Fatalf("features: %+v", features)
	}
	noopSeen := map[string]bool{}
	outcomes := map[string]int{}
	muts := f.mutations(t)
	for _, m := range muts {
		wanted := copyConfig(t, f.base)
		if err := m.apply(wanted); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if !reflect.DeepEqual(f.base, pristine) {
			t.Fatalf("%s: mutating the copy changed the base config", m.name)
		}
		if reflect.DeepEqual(wanted, pristine) {
			t.Fatalf("%s: the mutation changed nothing", m.name)
		}
		for _, fv := range []string{"2.6", "3.4"} {
			r := newRunning(copyConfig(t, f.base))
			u := r.diff(wanted, relRefs{}, features[fv])
			where := fmt.Sprintf("%s (HAProxy %s)", m.name, fv)
			reason, listed := noopFields[m.pattern]
			if listed || m.noop != "" {
				noopSeen[m.pattern] = listed
				reason = cmp.Or(m.noop, reason)
				if u.reload != "" || len(u.commands) != 0 {
					t.Errorf("%s: listed as no-op for HAProxy (%s), got reload %q, commands:\n%s", where, reason, u.reload, commandLines(u))
				}
				outcomes["no-op"]++
				continue
			}
			if u.reload != "" {
				checkCause(t, where, m, u)
				outcomes["reload "+u.cause.label()]++
				continue
			}
			if len(u.commands) == 0 {
				t.Errorf("%s: neither a reload nor a command: the diff ignores this field (fail open)", where)
				continue
			}
			if errs := simulate(f.base, wanted, u); len(errs) > 0 {
				t.Errorf("%s: the commands do not make the running state the wanted one:\n  %s\ncommands:\n%s",
					where, strings.Join(errs, "\n  "), commandLines(u))
			}
			outcomes["runtime"]++
		}
	}
	for p := range noopFields {
		if !noopSeen[p] {
			t.Errorf("noopFields lists %s, which no mutation changed: remove it or extend the base", p)
		}
	}
	t.Logf("%d mutations, outcomes over both feature sets: %v", len(muts), outcomes)
}

// checkCause accepts a reload with a real cause. The zero cause
// (structure) is what an update that forgot to set a cause would say, so
// it is accepted only where staticChange gives it on purpose; a refused
// command means the mutation built an invalid value, not a fail-closed
// reload.
func checkCause(t *testing.T, where string, m mutation, u *update) {
	t.Helper()
	structural := m.pattern == "DefaultBackend" || strings.HasPrefix(m.pattern, "Global.")
	switch label := u.cause.label(); {
	case u.cause >= numCauses || label == "unknown" || label == "":
		t.Errorf("%s: reload %q with no cause label (%d)", where, u.reload, u.cause)
	case u.cause == causeRuntimeFailed:
		t.Errorf("%s: a runtime command was refused (%q): the test built an invalid value", where, u.reload)
	case u.cause == causeStructure && !structural:
		t.Errorf("%s: reload %q with cause %q, meant for global options and the default backend", where, u.reload, label)
	}
}

func TestDiffOfConfigWithItselfIsEmpty(t *testing.T) {
	f := newFixture(t)
	for _, version := range []string{"2.6.12", "3.4.7"} {
		features := versionFeatures(t, version)
		for name, wanted := range map[string]*model.Config{"same value": f.base, "deep copy": copyConfig(t, f.base)} {
			r := newRunning(f.base)
			if u := r.diff(wanted, relRefs{}, features); u.reload != "" || len(u.commands) != 0 {
				t.Errorf("%s, %s: reload %q, commands:\n%s", version, name, u.reload, commandLines(u))
			}
		}
	}
	if errs := compareStates(stateOf(f.base), stateOf(copyConfig(t, f.base)), stateOf(f.base)); len(errs) > 0 {
		t.Errorf("the simulated state of a config differs from its copy's: %v", errs)
	}
}

// The simulator is not vacuous: leaving out or corrupting commands of a
// correct update shows.
func TestFailClosedSimulatorCatchesWrongCommands(t *testing.T) {
	f := newFixture(t)
	wanted := copyConfig(t, f.base)
	wanted.Backends[1].Endpoints[0].Address = netip.MustParseAddr("198.18.0.31")
	wanted.Backends[0].Endpoints[0].Draining = true
	wanted.Maps.Hosts[0].Value = "c.example"
	wanted.DefaultCertificate = slices.Clone(f.altPEM)
	u := newRunning(copyConfig(t, f.base)).diff(wanted, relRefs{}, haproxy.Features{})
	if u.reload != "" {
		t.Fatalf("reload %q", u.reload)
	}
	if errs := simulate(f.base, wanted, u); len(errs) > 0 {
		t.Fatalf("the correct update fails the simulator: %v\n%s", errs, commandLines(u))
	}
	for i := range u.commands {
		// Every command that changes the simulated state is needed.
		before := stateOf(f.base)
		for _, c := range u.commands[:i] {
			if err := before.exec(c.String(), wanted); err != nil {
				t.Fatal(err)
			}
		}
		after := stateOf(f.base)
		for _, c := range u.commands[:i+1] {
			if err := after.exec(c.String(), wanted); err != nil {
				t.Fatal(err)
			}
		}
		if reflect.DeepEqual(before, after) {
			continue // e.g. the barrier, or weight 1 on a slot that has it
		}
		short := &update{commands: slices.Delete(slices.Clone(u.commands), i, i+1)}
		if errs := simulate(f.base, wanted, short); len(errs) == 0 {
			t.Errorf("without %q the simulator still finds the wanted state", u.commands[i].String())
		}
	}
}

// Simulated HAProxy: what the runtime API can change.

type simServer struct {
	addr   netip.AddrPort
	weight int
	state  string // ready, maint, drain
}

type simBackend struct {
	servers   map[string]*simServer
	published bool
}

type simState struct {
	maps     map[string]map[string]string // file -> key -> value
	backends map[string]*simBackend
	certs    map[string]string // committed content by file
	pending  map[string]string // open `set ssl cert` transactions
	crtList  []string
}

var spareAddr = netip.MustParseAddrPort(render.SpareAddress)

func certFile(c *model.Certificate) string { return render.CertsDir + "/" + c.FileName }

func pemMarker(b []byte) string { return "pem:" + string(b) }

// stateOf is what HAProxy holds after loading the render of cfg.
func stateOf(cfg *model.Config) *simState {
	s := &simState{maps: map[string]map[string]string{}, backends: map[string]*simBackend{},
		certs: map[string]string{}, pending: map[string]string{}}
	for _, mf := range render.MapFiles(&cfg.Maps) {
		s.maps[mf.Path] = entryMap(*mf.Entries)
	}
	for i := range cfg.Backends {
		be := cfg.Backends[i]
		sb := &simBackend{servers: map[string]*simServer{}, published: true}
		for n := range max(be.Slots, len(be.Endpoints)) {
			srv := &simServer{addr: spareAddr, weight: 1, state: "maint"} // free slot: disabled
			if n < len(be.Endpoints) && be.Endpoints[n].Address.IsValid() {
				ep := be.Endpoints[n]
				srv = &simServer{addr: netip.AddrPortFrom(ep.Address.Unmap(), uint16(ep.Port)), weight: 1, state: "ready"}
				if ep.Draining {
					srv.weight = 0
				}
			}
			sb.servers[render.SlotName(n+1)] = srv
		}
		s.backends[be.Name] = sb
	}
	s.certs[render.DefaultCertPEM] = pemMarker(cfg.DefaultCertificate)
	for i := range cfg.Certificates {
		c := &cfg.Certificates[i]
		s.certs[certFile(c)] = pemMarker(c.PEM)
		for _, line := range c.CrtListLines() {
			head := certFile(c)
			if line.ClientCAFile != "" {
				head += " [verify optional ca-file " + render.CADir + "/" + line.ClientCAFile + "]"
			}
			s.crtList = append(s.crtList, strings.Join(append([]string{head}, line.SNI...), " "))
		}
	}
	return s
}

// wantedPEM is what a `set ssl cert` of file sends: the payload is elided
// in Command.String, so the simulator takes the wanted config's.
func wantedPEM(wanted *model.Config, file string) string {
	if file == render.DefaultCertPEM {
		return pemMarker(wanted.DefaultCertificate)
	}
	for i := range wanted.Certificates {
		if certFile(&wanted.Certificates[i]) == file {
			return pemMarker(wanted.Certificates[i].PEM)
		}
	}
	return "no wanted certificate " + file
}

func (s *simState) server(ref string) (*simServer, error) {
	be, srv, ok := strings.Cut(ref, "/")
	b := s.backends[be]
	if !ok || b == nil || b.servers[srv] == nil {
		return nil, fmt.Errorf("no server %s", ref)
	}
	return b.servers[srv], nil
}

// exec interprets one command line as HAProxy would.
func (s *simState) exec(line string, wanted *model.Config) error {
	head, payload, _ := strings.Cut(line, " << ")
	f := strings.Fields(head)
	cmd := strings.Join(f[:min(2, len(f))], " ")
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch {
	case cmd == "set server" && len(f) >= 5:
		srv, err := s.server(f[2])
		if err != nil {
			return err
		}
		switch f[3] {
		case "addr":
			a, err := netip.ParseAddr(f[4])
			if err != nil || arg(5) != "port" {
				return fmt.Errorf("bad addr in %q", line)
			}
			p, err := strconv.ParseUint(arg(6), 10, 16)
			if err != nil {
				return fmt.Errorf("bad port in %q", line)
			}
			srv.addr = netip.AddrPortFrom(a.Unmap(), uint16(p))
		case "weight":
			w, err := strconv.Atoi(f[4])
			if err != nil {
				return fmt.Errorf("bad weight in %q", line)
			}
			srv.weight = w
		case "state":
			switch f[4] {
			case "ready", "maint", "drain":
				srv.state = f[4]
			default:
				return fmt.Errorf("bad state in %q", line)
			}
		default:
			return fmt.Errorf("unknown %q", line)
		}
	case cmd == "show servers":
		// The address barrier: it changes nothing.
	case cmd == "add backend":
		if s.backends[arg(2)] != nil {
			return fmt.Errorf("backend %s exists", arg(2))
		}
		s.backends[arg(2)] = &simBackend{servers: map[string]*simServer{}}
	case cmd == "add server":
		be, name, _ := strings.Cut(arg(2), "/")
		b := s.backends[be]
		if b == nil || b.servers[name] != nil {
			return fmt.Errorf("%q: no backend or the server exists", line)
		}
		a, err := netip.ParseAddrPort(arg(3))
		if err != nil {
			return fmt.Errorf("bad address in %q", line)
		}
		srv := &simServer{addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), weight: 1, state: "maint"} // created in maintenance
		if arg(4) == "weight" {
			if srv.weight, err = strconv.Atoi(arg(5)); err != nil {
				return fmt.Errorf("bad weight in %q", line)
			}
		}
		b.servers[name] = srv
	case cmd == "publish backend", cmd == "unpublish backend":
		b := s.backends[arg(2)]
		if b == nil {
			return fmt.Errorf("no backend %s", arg(2))
		}
		b.published = cmd == "publish backend"
	case cmd == "add map" || cmd == "set map":
		m := s.maps[arg(2)]
		if m == nil || len(f) != 5 {
			return fmt.Errorf("no map or bad %q", line)
		}
		_, exists := m[f[3]]
		if cmd == "add map" && exists {
			return fmt.Errorf("%q duplicates a key (the old entry would win)", line)
		}
		if cmd == "set map" && !exists {
			return fmt.Errorf("%q: no such key", line)
		}
		m[f[3]] = f[4]
	case cmd == "del map":
		m := s.maps[arg(2)]
		if _, ok := m[arg(3)]; !ok || len(f) != 4 {
			return fmt.Errorf("%q: no such key", line)
		}
		delete(m, f[3])
	case strings.HasPrefix(head, "new ssl cert ") && len(f) == 4:
		if _, ok := s.certs[f[3]]; ok {
			return fmt.Errorf("%q: the file exists", line)
		}
		s.certs[f[3]] = ""
	case strings.HasPrefix(head, "set ssl cert ") && len(f) == 4:
		if _, ok := s.certs[f[3]]; !ok {
			return fmt.Errorf("%q: no such certificate", line)
		}
		s.pending[f[3]] = wantedPEM(wanted, f[3])
	case strings.HasPrefix(head, "commit ssl cert ") && len(f) == 4:
		p, ok := s.pending[f[3]]
		if !ok {
			return fmt.Errorf("%q: no transaction", line)
		}
		s.certs[f[3]] = p
		delete(s.pending, f[3])
	case strings.HasPrefix(head, "add ssl crt-list ") && payload != "":
		file, _, _ := strings.Cut(payload, " ")
		if s.certs[file] == "" {
			return fmt.Errorf("%q: certificate not in the store", line)
		}
		s.crtList = append(s.crtList, payload)
	default:
		return fmt.Errorf("the simulator does not know %q", line)
	}
	return nil
}

// simulate runs u's commands on the state of base and compares the result
// with the state of wanted.
func simulate(base, wanted *model.Config, u *update) []string {
	s := stateOf(base)
	for _, c := range u.commands {
		if err := s.exec(c.String(), wanted); err != nil {
			return []string{err.Error()}
		}
	}
	return compareStates(s, stateOf(wanted), stateOf(base))
}

// serving is what a backend's servers offer: active addresses with their
// weights, one server each.
func serving(b *simBackend) (map[netip.AddrPort]int, []string) {
	out := map[netip.AddrPort]int{}
	var errs []string
	for name, srv := range b.servers {
		if srv.state == "maint" {
			continue
		}
		w := srv.weight
		if srv.state == "drain" {
			w = 0
		}
		if _, dup := out[srv.addr]; dup {
			errs = append(errs, fmt.Sprintf("%s is on two servers (one is %s)", srv.addr, name))
		}
		out[srv.addr] = w
	}
	return out, errs
}

// compareStates compares got with want. Slots are compared by what they
// serve, not by position or count: the runtime fills free slots wherever
// they are. pre is the state before the commands: a draining endpoint
// HAProxy did not have gets no slot (slotLayout.plan), one it had keeps
// its slot with weight 0. A backend wanted has no more may stay until the
// next reload while it is unpublished or no map routes to it.
func compareStates(got, want, pre *simState) []string {
	var errs []string
	for path, wm := range want.maps {
		if !maps.Equal(got.maps[path], wm) {
			errs = append(errs, fmt.Sprintf("map %s: got %v, want %v", path, got.maps[path], wm))
		}
	}
	for name, wb := range want.backends {
		gb := got.backends[name]
		if gb == nil || !gb.published {
			errs = append(errs, fmt.Sprintf("backend %s missing or unpublished", name))
			continue
		}
		gs, dup := serving(gb)
		errs = append(errs, dup...)
		ws, _ := serving(wb)
		var had map[netip.AddrPort]int
		if pb := pre.backends[name]; pb != nil {
			had, _ = serving(pb)
		}
		for a, w := range ws {
			gw, ok := gs[a]
			_, wasThere := had[a]
			switch {
			case !ok && w == 0 && !wasThere:
				// a new endpoint already draining: no slot
			case !ok:
				errs = append(errs, fmt.Sprintf("backend %s: %s not served (want weight %d)", name, a, w))
			case gw != w:
				errs = append(errs, fmt.Sprintf("backend %s: %s has weight %d, want %d", name, a, gw, w))
			}
		}
		for a, w := range gs {
			if _, ok := ws[a]; !ok {
				errs = append(errs, fmt.Sprintf("backend %s: %s still served (weight %d)", name, a, w))
			}
		}
	}
	for name, gb := range got.backends {
		if want.backends[name] != nil || !gb.published {
			continue
		}
		for path, m := range got.maps {
			for k, v := range m {
				if v == name {
					errs = append(errs, fmt.Sprintf("backend %s is gone from the config but published and routed to by %s %s", name, path, k))
				}
			}
		}
	}
	if !maps.Equal(got.certs, want.certs) {
		errs = append(errs, fmt.Sprintf("certificates differ: %v", diffKeys(got.certs, want.certs)))
	}
	if len(got.pending) > 0 {
		errs = append(errs, fmt.Sprintf("uncommitted certificate transactions: %v", slices.Sorted(maps.Keys(got.pending))))
	}
	g, w := slices.Sorted(slices.Values(got.crtList)), slices.Sorted(slices.Values(want.crtList))
	if !slices.Equal(g, w) {
		errs = append(errs, fmt.Sprintf("crt-list: got %q, want %q", g, w))
	}
	return errs
}

// diffKeys names the files whose content differs, without the PEMs.
func diffKeys(a, b map[string]string) []string {
	var out []string
	for k := range a {
		if a[k] != b[k] {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Every map file of render.MapFiles is a distinct field of model.Maps, so
// staticPart leaves out of its comparison exactly the maps diffMaps keeps
// up to date.
func TestRuntimeMapFieldsAreMapFiles(t *testing.T) {
	var m model.Maps
	seen := map[*[]model.MapEntry]bool{}
	for _, f := range render.MapFiles(&m) {
		if seen[f.Entries] {
			t.Errorf("%s points at a field another map file uses", f.Path)
		}
		seen[f.Entries] = true
	}
	// Maps.Policy is a struct of map fields.
	n := reflect.TypeFor[model.Maps]().NumField() - 1 + reflect.TypeFor[model.PolicyMaps]().NumField()
	if n != len(seen) {
		t.Errorf("model.Maps has %d fields, render.MapFiles lists %d", n, len(seen))
	}
}
