// Package render turns a model.Config into the files HAProxy reads:
// haproxy.cfg, the routing maps, the crt-list and the certificates. It is
// pure: the same Config and Options always give the same bytes.
package render

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bollard-io/bollard/pkg/model"
)

// File names inside the config directory. Paths are relative: the base
// template sets "default-path config".
const (
	ConfigFile      = "haproxy.cfg"
	HostsMap        = "maps/hosts.map"
	WildcardsMap    = "maps/wildcards.map"
	ExactPathsMap   = "maps/paths-exact.map"
	PrefixPathsMap  = "maps/paths-prefix.map"
	HostDefaultsMap = "maps/host-defaults.map"
	RedirectsMap    = "maps/redirects.map"
	// ServerTimeoutsMap, TunnelTimeoutsMap and BodySizesMap hold the
	// backend options HAProxy reads per request, by backend name.
	ServerTimeoutsMap = "maps/timeout-server.map"
	TunnelTimeoutsMap = "maps/timeout-tunnel.map"
	BodySizesMap      = "maps/body-size.map"
	// EpochMap holds, on disk, only the hash of haproxy.cfg's structure
	// (key ConfigHashKey, see StructureHash): what HAProxy reports for it
	// is the structure it loaded.
	// The controller adds a marker at run time: a marker that is gone means
	// HAProxy loaded the files again (a restart or someone else's reload)
	// and lost every runtime change, in any mode.
	EpochMap = "maps/epoch.map"
	// ConfigHashKey is the key of haproxy.cfg's structure hash in EpochMap.
	ConfigHashKey  = "bollard-config"
	CertsDir       = "certs"
	CrtList        = "certs/crt-list.txt"
	DefaultCertPEM = "certs/" + model.DefaultCertificateFile
	// AdminSocket is the stats socket's name inside the runtime directory.
	AdminSocket = "admin.sock"
	// MasterSocket is the master CLI socket's name inside the runtime directory.
	MasterSocket = "master.sock"
)

// File modes: certificates hold private keys.
const (
	ConfigMode fs.FileMode = 0o644
	SecretMode fs.FileMode = 0o600
)

// Options are the deployment settings that are not part of the model.
type Options struct {
	// BindAddress is the address the traffic frontends listen on; "" is all
	// IPv4 addresses.
	BindAddress string
	HTTPPort    int
	HTTPSPort   int
	// StatsPort serves /stats, /metrics and /healthz; 0 leaves it out.
	StatsPort int
	// RuntimeDir holds the stats socket (admin.sock).
	RuntimeDir string
}

// DefaultOptions returns the options used in the deployed pod.
func DefaultOptions() Options {
	return Options{HTTPPort: 80, HTTPSPort: 443, StatsPort: 1024, RuntimeDir: "/run/haproxy"}
}

// File is one rendered file, relative to the config directory.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// Render produces every file of the config directory, sorted by path.
func Render(cfg *model.Config, opts Options) ([]File, error) {
	return NewRenderer(opts).Render(cfg)
}

// render produces the files with base as haproxy.cfg's base sections,
// rendered from options already validated; Gateway frontends without an
// address of their own bind bindAddress.
func render(cfg *model.Config, base, bindAddress string) ([]File, error) {
	if len(cfg.DefaultCertificate) == 0 {
		return nil, errors.New("render: the config has no default certificate (model.Options.FallbackCertificate is empty)")
	}
	main, err := config(cfg, base, bindAddress)
	if err != nil {
		return nil, err
	}
	files := []File{
		{Path: ConfigFile, Mode: ConfigMode, Data: main},
		{Path: EpochMap, Mode: ConfigMode, Data: []byte(ConfigHashKey + " " + StructureHash(main) + "\n")},
		{Path: CrtList, Mode: ConfigMode, Data: crtList(cfg.Certificates)},
		{Path: DefaultCertPEM, Mode: SecretMode, Data: cfg.DefaultCertificate},
	}
	for i := range cfg.Gateways {
		if f := &cfg.Gateways[i]; f.TLS {
			files = append(files, File{Path: GatewayCrtList(f), Mode: ConfigMode, Data: gatewayCrtList(f)})
		}
	}
	for _, m := range MapFiles(&cfg.Maps) {
		files = append(files, File{Path: m.Path, Mode: ConfigMode, Data: Map(*m.Entries)})
	}
	for _, c := range cfg.Certificates {
		files = append(files, File{Path: CertsDir + "/" + c.FileName, Mode: SecretMode, Data: c.PEM})
	}
	for _, c := range cfg.GatewayCertificates {
		// A Secret both APIs serve is one file (model.AddIngress may add
		// it to Certificates after the build that found it for a Gateway).
		if !slices.ContainsFunc(cfg.Certificates, func(i model.Certificate) bool { return i.FileName == c.FileName }) {
			files = append(files, File{Path: CertsDir + "/" + c.FileName, Mode: SecretMode, Data: c.PEM})
		}
	}
	cas := map[string]bool{} // a Secret both kinds of CA is one file
	for _, ca := range append(slices.Clip(cfg.BackendCAs), cfg.ClientCAs...) {
		if !cas[ca.FileName] {
			cas[ca.FileName] = true
			files = append(files, File{Path: CADir + "/" + ca.FileName, Mode: ConfigMode, Data: ca.PEM})
		}
	}
	slices.SortFunc(files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	return files, nil
}

func (o Options) validate() error {
	if o.BindAddress != "" {
		if _, err := netip.ParseAddr(o.BindAddress); err != nil {
			return fmt.Errorf("bind address %q is not an IP address", o.BindAddress)
		}
	}
	for name, port := range map[string]int{"http": o.HTTPPort, "https": o.HTTPSPort} {
		if port < 1 || port > 65535 {
			return fmt.Errorf("%s port %d is out of range 1-65535", name, port)
		}
	}
	if o.StatsPort < 0 || o.StatsPort > 65535 {
		return fmt.Errorf("stats port %d is out of range 0-65535", o.StatsPort)
	}
	if !filepath.IsAbs(o.RuntimeDir) || strings.ContainsFunc(o.RuntimeDir, unsafePathRune) {
		return fmt.Errorf("runtime dir %q must be an absolute path of letters, digits and ./_-", o.RuntimeDir)
	}
	return nil
}

func unsafePathRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-", r))
}

// StructureHash identifies what of a haproxy.cfg the runtime API cannot
// change: every line but the addresses and states of the server slots,
// whose number per backend and keywords (ssl, check, ...) count (the first
// 16 bytes of a SHA-256, in hex). Endpoints move at run time and are read
// back; the rest only a reload loads. It runs on every render, so it
// hashes the text between slot lines in place (BenchmarkStructureHash at
// 10k backends: 2.3 ms, 3 allocations; split into lines and fields it took
// 8.3 ms and 90k allocations).
func StructureHash(haproxyCfg []byte) string {
	h := sha256.New()
	slots, start := 0, 0 // start: where the text not hashed yet begins
	var params []byte    // the keywords of the current run of slots
	var line [64]byte
	flush := func() {
		if slots > 0 {
			// Not fmt: boxing params allocated once per backend.
			b := strconv.AppendInt(append(line[:0], "  slots "...), int64(slots), 10)
			h.Write(append(b, ' '))
			h.Write(params)
			h.Write([]byte{'\n'})
		}
		slots = 0
	}
	for pos := 0; pos < len(haproxyCfg); {
		next := len(haproxyCfg)
		if i := bytes.IndexByte(haproxyCfg[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		if n, p, ok := slotLine(haproxyCfg[pos:next]); ok {
			if slots > 0 && !bytes.Equal(p, params) {
				flush()
			}
			h.Write(haproxyCfg[start:pos])
			slots, params, start = slots+n, p, next
		} else {
			flush()
		}
		pos = next
	}
	h.Write(haproxyCfg[start:])
	flush()
	h.Write([]byte{'\n'})
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// slotLine reports how many server slots a line declares (1 for "server
// slotN ...", the size of the range for "server-template slot A-B ...") and
// their keywords without the runtime state the renderer puts first
// ("disabled", "weight 0"); false for any other line.
func slotLine(line []byte) (int, []byte, bool) {
	first, rest := word(line)
	n := 0
	switch {
	case string(first) == "server":
		var name []byte
		name, rest = word(rest)
		if !bytes.HasPrefix(name, []byte(SlotPrefix)) {
			return 0, nil, false
		}
		n = 1
	case string(first) == "server-template":
		var prefix, bounds []byte
		prefix, rest = word(rest)
		bounds, rest = word(rest)
		if string(prefix) != SlotPrefix {
			return 0, nil, false
		}
		from, to, _ := bytes.Cut(bounds, []byte("-"))
		a, errA := strconv.Atoi(string(from))
		b, errB := strconv.Atoi(string(to))
		if errA != nil || errB != nil || b < a {
			return 0, nil, false // not a range this renderer writes
		}
		n = b - a + 1
	default:
		return 0, nil, false
	}
	_, rest = word(rest) // the address
	next, after := word(rest)
	switch {
	case string(next) == "disabled":
		rest = after
	case string(next) == "weight":
		if w, afterWeight := word(after); string(w) == "0" {
			rest = afterWeight
		}
	}
	return n, bytes.TrimSpace(rest), true
}

// word returns the first word of b (after spaces and tabs) and what
// follows it. Byte loops: bytes.TrimLeft and IndexAny build a set per call,
// which cost most of StructureHash.
func word(b []byte) (w, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
		j++
	}
	return b[i:j], b[j:]
}

// MapsDir holds the map files.
const MapsDir = "maps"

// FileDirs are the directories the renderer writes files into, besides
// haproxy.cfg's own: a file in one of them that a render does not name is
// stale.
func FileDirs() []string {
	return []string{MapsDir, CertsDir, CADir}
}

// MapFile is one map file with its entries, which point into a model.Maps.
type MapFile struct {
	Path    string
	Entries *[]model.MapEntry
}

// MapFiles lists every map of m with its file: the renderer writes them,
// the controller's runtime diff updates them and its read-back fills them,
// from this one list.
//
// The order is the order in which the runtime diff adds entries (it
// deletes in reverse): the policies come before the routing maps, so a
// new route is never served before its policy is in place.
func MapFiles(m *model.Maps) []MapFile {
	return append(policyMapFiles(&m.Policy), []MapFile{
		{HostsMap, &m.Hosts},
		{WildcardsMap, &m.Wildcards},
		{ExactPathsMap, &m.ExactPaths},
		{PrefixPathsMap, &m.PrefixPaths},
		{HostDefaultsMap, &m.HostDefaults},
		{RedirectsMap, &m.Redirects},
		{ServerTimeoutsMap, &m.ServerTimeouts},
		{TunnelTimeoutsMap, &m.TunnelTimeouts},
		{BodySizesMap, &m.BodySizes},
	}...)
}

// Map renders map entries, one "key value" line each. The model has
// validated every key and value: none holds whitespace or '#'.
func Map(entries []model.MapEntry) []byte {
	var sb strings.Builder
	for _, e := range entries {
		sb.WriteString(e.Key)
		sb.WriteByte(' ')
		sb.WriteString(e.Value)
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// crtList names each certificate with the SNI hosts it serves. Hosts
// that ask for a client certificate have lines of their own, which verify
// it with their CA ("optional": the policy rules decide per request).
func crtList(certs []model.Certificate) []byte {
	var sb strings.Builder
	for i := range certs {
		for _, line := range certs[i].CrtListLines() {
			sb.WriteString(CertsDir + "/" + certs[i].FileName)
			if line.ClientCAFile != "" {
				sb.WriteString(" [verify optional ca-file " + CADir + "/" + line.ClientCAFile + "]")
			}
			for _, sni := range line.SNI {
				sb.WriteByte(' ')
				sb.WriteString(sni)
			}
			sb.WriteByte('\n')
		}
	}
	return []byte(sb.String())
}

func (o Options) bind(port int) string {
	if o.BindAddress == "" {
		return ":" + strconv.Itoa(port)
	}
	return netip.AddrPortFrom(netip.MustParseAddr(o.BindAddress), uint16(port)).String()
}
