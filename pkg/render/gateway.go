package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/bollard-io/bollard/pkg/model"
)

// The Gateway API frontends. Each selects a listener by the request's
// host, then the first rule, in precedence order, whose matches hold
// (txn.gwrule); the rule's filters and backends act on that variable.
// Every user string was checked by the model (gatewayvalues.go) and is
// written in double quotes; '%' is doubled where HAProxy reads a
// log-format string.

// gatewayNormalize is the request normalisation of the Ingress frontends
// (templates/haproxy.cfg): no equivalent form of a request reaches
// another rule.
var gatewayNormalize = []string{
	`http-request replace-header host ^(.*[^.])[.](:[0-9]*)?$ \1\2`,
	`http-request set-var(txn.normalize) bool(1) if { path -m sub % // /. }`,
	`http-request normalize-uri percent-to-uppercase strict if { var(txn.normalize) -m found }`,
	`http-request normalize-uri percent-decode-unreserved strict if { var(txn.normalize) -m found }`,
	`http-request normalize-uri path-merge-slashes if { var(txn.normalize) -m found }`,
	`http-request normalize-uri path-strip-dot if { var(txn.normalize) -m found }`,
	`http-request normalize-uri path-strip-dotdot`,
	`http-request deny deny_status 400 if { var(txn.normalize) -m found } { path,field(2,/) -m str .. } || { var(txn.normalize) -m found } { path -m sub %2F }`,
}

// writeGatewayFrontend writes one Gateway frontend section.
func writeGatewayFrontend(sb *strings.Builder, f *model.GatewayFrontend, certs map[string][]byte, bindAddress string) error {
	bind, err := gatewayBind(f, bindAddress)
	if err != nil {
		return err
	}
	fmt.Fprintf(sb, "\nfrontend %s from %s\n", f.Name, DefaultsName)
	line := func(s string) { sb.WriteString("  " + s + "\n") }
	for _, c := range certComments(f, certs) {
		line(c)
	}
	line(bind)
	for _, l := range gatewayNormalize {
		line(l)
	}
	proto := "http"
	if f.TLS {
		proto = "https"
	}
	line("http-request set-header X-Forwarded-Proto " + proto)
	line("http-request set-header X-Forwarded-Host %[req.hdr(host)]")
	requests, uses := gatewayRules(f)
	for _, s := range append(requests, uses...) {
		line(s)
	}
	line("default_backend " + NotFoundBackend)
	line("http-after-response set-header Server bollard if !{ res.hdr(server) -m found }")
	line("http-after-response set-header Date %[date(),http_date] if !{ res.hdr(date) -m found }")
	return nil
}

// certComments name each certificate with a digest of its contents: a
// changed Secret changes the structure hash, hence a reload.
func certComments(f *model.GatewayFrontend, certs map[string][]byte) []string {
	var out []string
	for _, c := range f.Certificates {
		sum := sha256.Sum256(certs[c.FileName])
		out = append(out, fmt.Sprintf("# certificate %s sha256 %s for %q", c.FileName, hex.EncodeToString(sum[:8]), c.SNI))
	}
	return out
}

// gatewayRules are a frontend's Gateway rules: the http-request rules
// (listener and rule selection, filters) and the use_backend rules.
func gatewayRules(f *model.GatewayFrontend) (requests, uses []string) {
	proto := "http"
	if f.TLS {
		proto = "https"
	}
	requests = append(requests, "http-request set-var(txn.gwhost) req.hdr(host),field(1,:),lower")
	for _, l := range f.Listeners {
		cond := hostCond(l.Hostname)
		requests = append(requests, strings.TrimSpace(fmt.Sprintf("http-request set-var(txn.gwl) str(%s) if !{ var(txn.gwl) -m found } %s", l.ID, cond)))
	}
	if f.TLS && !f.Shared {
		// Not on the shared frontend, whose Ingress hosts have no
		// listener.
		requests = append(requests, misdirected(f)...)
	}
	requests = append(requests, "http-request set-var(txn.gwpath) path,concat(/)")
	for i := range f.Rules {
		requests = append(requests, selectRule(&f.Rules[i])...)
	}
	// The backend is picked before the filters run: a backendRef's own
	// header edits apply to the requests it gets.
	for i := range f.Rules {
		if s := pickBackend(&f.Rules[i]); s != "" {
			requests = append(requests, s)
		}
	}
	for i := range f.Rules {
		requests = append(requests, ruleActions(&f.Rules[i], proto)...)
		requests = append(requests, backendActions(&f.Rules[i])...)
	}
	for i := range f.Rules {
		requests = append(requests, responseActions(&f.Rules[i])...)
	}
	for i := range f.Rules {
		r, u := backendChoice(&f.Rules[i])
		requests = append(requests, r...)
		uses = append(uses, u...)
	}
	return requests, uses
}

// ingressUseBackend is the Ingress frontends' routing rule; the rules of
// Gateway listeners that share the frontend go before it.
const ingressUseBackend = "  use_backend %[var(txn.backend)] if { var(txn.backend) -m found }\n"

// shareFrontend puts the Gateway rules of a shared frontend into the
// base's Ingress frontend of that name, ahead of its map-driven routing,
// and the listeners' certificates onto its bind.
func shareFrontend(base string, f *model.GatewayFrontend, certs map[string][]byte) (string, error) {
	head := "\nfrontend " + f.Name + " from " + DefaultsName + "\n"
	start := strings.Index(base, head)
	if start < 0 {
		return "", fmt.Errorf("gateway: the base has no frontend %s to share", f.Name)
	}
	end := len(base)
	if next := strings.Index(base[start+len(head):], "\n\n"); next >= 0 {
		end = start + len(head) + next
	}
	section := base[start:end]
	at := strings.Index(section, ingressUseBackend)
	if at < 0 {
		return "", fmt.Errorf("gateway: frontend %s has no Ingress routing rule", f.Name)
	}
	var sb strings.Builder
	requests, uses := gatewayRules(f)
	for _, s := range append(append(certComments(f, certs), requests...), uses...) {
		sb.WriteString("  " + s + "\n")
	}
	section = section[:at] + sb.String() + section[at:]
	if f.TLS {
		list := " crt-list " + CrtList
		if !strings.Contains(section, list) {
			return "", fmt.Errorf("gateway: frontend %s binds no %s", f.Name, CrtList)
		}
		section = strings.Replace(section, list, list+" crt-list "+GatewayCrtList(f), 1)
	}
	return base[:start] + section + base[end:], nil
}

func gatewayBind(f *model.GatewayFrontend, bindAddress string) (string, error) {
	addr, from := "", f.Address
	if from == "" {
		from = bindAddress
	}
	if from != "" {
		a, err := netip.ParseAddr(from)
		if err != nil {
			return "", fmt.Errorf("gateway frontend %s: address %q: %w", f.Name, f.Address, err)
		}
		addr = a.String()
	}
	if f.Port < 1 || f.Port > 65535 {
		return "", fmt.Errorf("gateway frontend %s: port %d out of range", f.Name, f.Port)
	}
	bind := "bind " + addr + ":" + strconv.Itoa(int(f.Port))
	if !f.TLS {
		return bind, nil
	}
	// The first certificate loaded is the default: a listener's for any
	// host, else the generated one.
	list := " crt-list " + GatewayCrtList(f)
	if slices.ContainsFunc(f.Certificates, func(c model.GatewayCertificate) bool { return c.SNI == "" }) {
		return bind + " ssl" + list + " crt " + DefaultCertPEM + " alpn h2,http/1.1", nil
	}
	return bind + " ssl crt " + DefaultCertPEM + list + " alpn h2,http/1.1", nil
}

// GatewayCrtList is the crt-list of a TLS Gateway frontend's listeners.
// A bind line holds at most 64 words: a frontend's certificates are a
// file, not words.
func GatewayCrtList(f *model.GatewayFrontend) string {
	return CertsDir + "/" + f.Name + ".crtlist"
}

// gatewayCrtList serves each listener's certificates for its hostname
// only (the SNI filter), a listener's for any host first (the default).
func gatewayCrtList(f *model.GatewayFrontend) []byte {
	certs := slices.Clone(f.Certificates)
	slices.SortStableFunc(certs, func(x, y model.GatewayCertificate) int {
		return boolRank(x.SNI != "") - boolRank(y.SNI != "")
	})
	var sb strings.Builder
	for _, c := range certs {
		sb.WriteString(CertsDir + "/" + c.FileName)
		if c.SNI != "" {
			sb.WriteString(" " + c.SNI)
		}
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func quote(s string) string { return `"` + s + `"` }

// logFormat quotes a checked value for a log-format argument.
func logFormat(s string) string { return quote(strings.ReplaceAll(s, "%", "%%")) }

// hostCond matches a listener or route hostname against the request's
// host, hostVarCond against another variable (the TLS server name).
func hostCond(h string) string { return hostVarCond("txn.gwhost", h) }

func hostVarCond(variable, h string) string {
	switch {
	case h == "":
		return ""
	case strings.HasPrefix(h, "*."):
		return "{ var(" + variable + ") -m end " + quote(h[1:]) + " }"
	}
	return "{ var(" + variable + ") -m str " + quote(h) + " }"
}

// selectRule writes the rule that sets txn.gwrule when r matches.
func selectRule(r *model.GatewayRule) []string {
	head := []string{"!{ var(txn.gwrule) -m found }", "{ var(txn.gwl) -m str " + r.Listener + " }"}
	if c := hostCond(r.Hostname); c != "" {
		head = append(head, c)
	}
	switch {
	case r.PathExact:
		head = append(head, "{ path -m str "+quote(r.Path)+" }")
	case r.Path != "/":
		// txn.gwpath is the path and a '/': a prefix matches whole
		// path elements ("/a" matches "/a" and "/a/b", not "/ab").
		head = append(head, "{ var(txn.gwpath) -m beg "+quote(r.Path+"/")+" }")
	}
	if r.Method != "" {
		head = append(head, "{ method "+r.Method+" }")
	}
	var rest []string
	for _, h := range r.Headers {
		// "--": a value starting with '-' is a pattern, not an option.
		rest = append(rest, "{ req.fhdr("+h.Name+") -m str -- "+quote(h.Value)+" }")
	}
	for _, q := range r.Query {
		rest = append(rest, "{ url_param("+q.Name+") -m str -- "+quote(q.Value)+" }")
	}
	set := "http-request set-var(txn.gwrule) str(" + r.ID + ") if "
	if all := append(slices.Clone(head), rest...); len(all) <= maxConditions {
		return []string{set + strings.Join(all, " ")}
	}
	// HAProxy reads at most 64 words per line: a rule with many header
	// or query matches becomes a candidate that each match may strike.
	out := []string{"http-request set-var(txn.gwc) str(" + r.ID + ") if " + strings.Join(head, " ")}
	candidate := "{ var(txn.gwc) -m str " + r.ID + " }"
	for _, c := range rest {
		out = append(out, "http-request unset-var(txn.gwc) if "+candidate+" !"+c)
	}
	return append(out, set+candidate)
}

// maxConditions keeps a rule selection on one line under HAProxy's limit
// of 64 words per line: at most 7 words a condition, 6 before them.
const maxConditions = 8

// misdirected answers 421 to a request whose TLS server name selects
// another listener than its Host header does: the connection was set up,
// and its certificate chosen, for another listener (an HTTP/2 client
// reuses a connection for every name of its certificate).
func misdirected(f *model.GatewayFrontend) []string {
	if len(f.Listeners) < 2 {
		return nil
	}
	out := []string{"http-request set-var(txn.gwsni) ssl_fc_sni,lower if { ssl_fc_has_sni }"}
	for _, l := range f.Listeners {
		cond := hostVarCond("txn.gwsni", l.Hostname)
		out = append(out, strings.TrimSpace(fmt.Sprintf("http-request set-var(txn.gwlsni) str(%s) if { var(txn.gwsni) -m found } !{ var(txn.gwlsni) -m found } %s", l.ID, cond)))
	}
	return append(out, `http-request return status 421 content-type "text/plain" string "misdirected request" if { var(txn.gwlsni) -m found } !{ var(txn.gwl),strcmp(txn.gwlsni) eq 0 }`)
}

func sel(r *model.GatewayRule) string { return "{ var(txn.gwrule) -m str " + r.ID + " }" }

// ruleActions are a rule's request filters: redirect, header edits and
// rewrites.
func ruleActions(r *model.GatewayRule, scheme string) []string {
	var out []string
	if rd := r.Redirect; rd != nil {
		s := scheme
		if rd.Scheme != "" {
			s = rd.Scheme
		}
		host := "%[var(txn.gwhost)]"
		if rd.Hostname != "" {
			host = rd.Hostname
		}
		port := ""
		if rd.Port != 0 && !(s == "http" && rd.Port == 80) && !(s == "https" && rd.Port == 443) {
			port = ":" + strconv.Itoa(int(rd.Port))
		}
		prefix := s + "://" + host + port
		out = append(out, restPath(rd.Path, sel(r))...)
		for _, p := range newPath(rd.Path) {
			loc := strings.ReplaceAll(prefix, "%[", "\x00") // keep our own expression
			loc = strings.ReplaceAll(strings.ReplaceAll(loc, "%", "%%"), "\x00", "%[")
			out = append(out,
				fmt.Sprintf("http-request redirect location %s code %d if %s%s { query -m found }", quote(loc+p.path+"?%[query]"), rd.StatusCode, sel(r), p.cond),
				fmt.Sprintf("http-request redirect location %s code %d if %s%s", quote(loc+p.path), rd.StatusCode, sel(r), p.cond))
		}
		return out
	}
	out = append(out, gatewayHeaderRules("http-request", r.RequestHeaders, sel(r))...)
	if rw := r.Rewrite; rw != nil {
		if rw.Hostname != "" {
			out = append(out, "http-request set-header host "+quote(rw.Hostname)+" if "+sel(r))
		}
		if rw.Path.Kind != "" {
			out = append(out, restPath(rw.Path, sel(r))...)
			for _, p := range newPath(rw.Path) {
				out = append(out, "http-request set-path "+quote(p.path)+" if "+sel(r)+p.cond)
			}
		}
	}
	return out
}

// pathForm is a new path (log-format) and the condition it applies under.
type pathForm struct {
	path string
	cond string
}

// newPath returns the forms of a path modifier: a full path; or the
// matched prefix replaced (the spec's table: prefix /foo replaced by /xyz
// turns /foo into /xyz, /foo/ into /xyz/ and /foo/bar into /xyz/bar; by
// "/" or "", into /, / and /bar). restPath sets, before any rewrite,
// txn.gwwhole when the path is the prefix itself and txn.gwrest to what
// follows its elements.
func newPath(pm model.PathModifier) []pathForm {
	escaped := strings.ReplaceAll(pm.Value, "%", "%%")
	switch pm.Kind {
	case "full":
		return []pathForm{{path: escaped}}
	case "prefix":
		whole := escaped
		if whole == "" {
			whole = "/"
		}
		return []pathForm{
			{path: whole, cond: " { var(txn.gwwhole) -m found }"},
			{path: strings.TrimSuffix(escaped, "/") + "/%[var(txn.gwrest)]", cond: " !{ var(txn.gwwhole) -m found }"},
		}
	}
	return []pathForm{{path: "%[path]"}}
}

// restPath reads, before the rule rewrites the path, whether the path is
// a ReplacePrefixMatch's matched prefix itself, and what follows it.
func restPath(pm model.PathModifier, cond string) []string {
	if pm.Kind != "prefix" {
		return nil
	}
	depth := strings.Count(strings.TrimSuffix(pm.Matched, "/"), "/")
	return []string{
		"http-request set-var(txn.gwwhole) bool(1) if " + cond + " { path -m str " + quote(pm.Matched) + " }",
		"http-request set-var(txn.gwrest) path,field(" + strconv.Itoa(depth+2) + ",/,0) if " + cond,
	}
}

func responseActions(r *model.GatewayRule) []string {
	return gatewayHeaderRules("http-response", r.ResponseHeaders, sel(r))
}

// gatewayHeaderRules writes header edits as rules of kind (http-request or
// http-response) under cond.
func gatewayHeaderRules(kind string, h model.HeaderEdits, cond string) []string {
	var out []string
	for _, nv := range h.Set {
		out = append(out, kind+" set-header "+nv.Name+" "+logFormat(nv.Value)+" if "+cond)
	}
	for _, nv := range h.Add {
		out = append(out, kind+" add-header "+nv.Name+" "+logFormat(nv.Value)+" if "+cond)
	}
	for _, name := range h.Remove {
		out = append(out, kind+" del-header "+name+" if "+cond)
	}
	return out
}

// liveBackends are the backends of r with a share of its requests, and
// the ranges of txn.gwpick that choose each (when there are several).
func liveBackends(r *model.GatewayRule) (live []model.WeightedBackend, within []string, total int64) {
	for _, b := range r.Backends {
		if b.Weight > 0 {
			live = append(live, b)
			total += int64(b.Weight)
		}
	}
	low := int64(0)
	for _, b := range live {
		high := low + int64(b.Weight)
		if len(live) > 1 {
			within = append(within, fmt.Sprintf(" { var(txn.gwpick) -m int ge %d } { var(txn.gwpick) -m int lt %d }", low, high))
		} else {
			within = append(within, "")
		}
		low = high
	}
	return live, within, total
}

// pickBackend draws the weighted choice of a rule with several backends.
func pickBackend(r *model.GatewayRule) string {
	if r.Redirect != nil {
		return ""
	}
	if live, _, total := liveBackends(r); len(live) > 1 {
		return "http-request set-var(txn.gwpick) rand(" + strconv.FormatInt(total, 10) + ") if " + sel(r)
	}
	return ""
}

// backendActions are the header edits of the backendRefs' own filters.
func backendActions(r *model.GatewayRule) []string {
	if r.Redirect != nil {
		return nil
	}
	var out []string
	live, within, _ := liveBackends(r)
	for i, b := range live {
		out = append(out, gatewayHeaderRules("http-request", b.RequestHeaders, sel(r)+within[i])...)
	}
	return out
}

// backendChoice writes how a rule routes once its backend is picked:
// 500 for an invalid reference or no backend at all. The http-request
// rules come apart from the use_backend rules, which HAProxy runs after
// them.
func backendChoice(r *model.GatewayRule) (requests, uses []string) {
	if r.Redirect != nil {
		return nil, nil
	}
	fail := "http-request return status 500 content-type \"text/plain\" string \"no valid backend\" if " + sel(r)
	live, within, _ := liveBackends(r)
	if len(live) == 0 {
		return []string{fail}, nil
	}
	for i, b := range live {
		if b.Backend == "" {
			requests = append(requests, fail+within[i])
		} else {
			uses = append(uses, "use_backend "+b.Backend+" if "+sel(r)+within[i])
		}
	}
	return requests, uses
}
