package haproxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Read-back: what the running HAProxy actually holds, so that the
// controller converges from HAProxy's state after a restart, an adoption
// or a failed command, never from its own memory.

// GetMap builds "get map <file> <key>"; its reply says found=yes|no.
func GetMap(mapFile, key string) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	k, err := mapKey(key)
	if err != nil {
		return Command{}, err
	}
	return build(replyOutput, "get map", mapFile, k)
}

// ShowAllServersState builds "show servers state" for every backend.
func ShowAllServersState() Command {
	return Command{text: "show servers state", reply: replyOutput}
}

// ShowSSLCerts builds "show ssl cert": the certificate files HAProxy holds.
func ShowSSLCerts() Command {
	return Command{text: "show ssl cert", reply: replyOutput}
}

// ShowSSLCert builds "show ssl cert <file>".
func ShowSSLCert(certFile string) (Command, error) {
	if err := checkFile("certificate", certFile); err != nil {
		return Command{}, err
	}
	return build(replyOutput, "show ssl cert", certFile)
}

// ShowCrtList builds "show ssl crt-list <list>".
func ShowCrtList(crtList string) (Command, error) {
	if err := checkFile("crt-list", crtList); err != nil {
		return Command{}, err
	}
	return build(replyOutput, "show ssl crt-list", crtList)
}

// MapValue returns the value of key in a map, and whether it is there.
func (r *Runtime) MapValue(ctx context.Context, mapFile, key string) (string, bool, error) {
	cmd, err := GetMap(mapFile, key)
	if err != nil {
		return "", false, err
	}
	out, err := r.query(ctx, cmd, true)
	if err != nil {
		return "", false, err
	}
	return parseGetMap(out)
}

// parseGetMap reads `get map` of 2.6 and 3.x:
//
//	type=str, case=sensitive, found=yes, idx=tree, key="k", value="v", type="str"
func parseGetMap(out string) (string, bool, error) {
	out = strings.TrimSpace(out)
	switch {
	case strings.Contains(out, "found=no"):
		return "", false, nil
	case !strings.Contains(out, "found=yes"):
		return "", false, fmt.Errorf("unexpected get map output: %q", oneLine(out))
	}
	_, rest, ok := strings.Cut(out, `, value="`)
	if !ok {
		return "", false, fmt.Errorf("get map output without a value: %q", oneLine(out))
	}
	value, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return "", false, fmt.Errorf("get map output with an unterminated value: %q", oneLine(out))
	}
	return value, true, nil
}

// MapEntry is one entry of a map as HAProxy holds it.
type MapEntry struct {
	Key   string
	Value string
}

// MapEntries returns the entries of a map in HAProxy's order.
func (r *Runtime) MapEntries(ctx context.Context, mapFile string) ([]MapEntry, error) {
	cmd, err := ShowMap(mapFile)
	if err != nil {
		return nil, err
	}
	out, err := r.Query(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return parseShowMap(out)
}

// parseShowMap reads "0x55c0d47d0860 key value" lines. Bollard's keys and
// values hold no whitespace, so three fields per line is the only shape.
func parseShowMap(out string) ([]MapEntry, error) {
	var entries []MapEntry
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], "0x") {
			return nil, fmt.Errorf("unexpected show map line %q", oneLine(line))
		}
		entries = append(entries, MapEntry{Key: f[1], Value: f[2]})
	}
	return entries, nil
}

// AllServersState returns every server of every backend.
func (r *Runtime) AllServersState(ctx context.Context) ([]ServerStatus, error) {
	out, err := r.Query(ctx, ShowAllServersState())
	if err != nil {
		return nil, err
	}
	return parseServersState(out)
}

// SSLCertFiles lists the certificate files HAProxy holds. Names with an
// open transaction are listed as "*name" by HAProxy; they are returned
// without the star, since the committed certificate exists too.
func (r *Runtime) SSLCertFiles(ctx context.Context) ([]string, error) {
	out, err := r.Query(ctx, ShowSSLCerts())
	if err != nil {
		return nil, err
	}
	var files []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		files = append(files, strings.TrimPrefix(line, "*"))
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// SSLCertFingerprint returns the SHA-1 fingerprint (upper-case hex) of the
// leaf certificate HAProxy serves from certFile.
func (r *Runtime) SSLCertFingerprint(ctx context.Context, certFile string) (string, error) {
	cmd, err := ShowSSLCert(certFile)
	if err != nil {
		return "", err
	}
	out, err := r.Query(ctx, cmd)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SHA1 FingerPrint: "); ok {
			return strings.ToUpper(strings.TrimSpace(v)), nil
		}
	}
	return "", fmt.Errorf("show ssl cert %s: no SHA1 FingerPrint in %q", certFile, oneLine(out))
}

// CrtListCert is what a crt-list says of one certificate file.
type CrtListCert struct {
	// SNI is the union of the SNI filters of its lines, sorted.
	SNI []string
	// ClientCAs maps the SNI filters of lines that ask for a client
	// certificate to the line's CA file.
	ClientCAs map[string]string
}

// CrtListEntries returns what a crt-list says of each certificate file; a
// file on several lines gets the union.
func (r *Runtime) CrtListEntries(ctx context.Context, crtList string) (map[string]CrtListCert, error) {
	cmd, err := ShowCrtList(crtList)
	if err != nil {
		return nil, err
	}
	out, err := r.Query(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return parseCrtList(out)
}

// parseCrtList reads `show ssl crt-list <list>`:
//
//	# certs/crt-list.txt
//	certs/a.pem a.test b.test
//	certs/a.pem [verify optional ca-file cas/ns_ca.pem] c.test
//
// The only per-line options Bollard writes are those of client
// certificates; any other "[" is unexpected.
func parseCrtList(out string) (map[string]CrtListCert, error) {
	entries := map[string]CrtListCert{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		caFile := ""
		if len(f) >= 5 && f[1] == "[verify" && f[2] == "optional" && f[3] == "ca-file" && strings.HasSuffix(f[4], "]") && len(f[4]) > 1 {
			caFile = strings.TrimSuffix(f[4], "]")
			f = append(f[:1], f[5:]...)
		}
		if strings.HasPrefix(line, "[") || strings.ContainsAny(caFile, "[]") || slices.ContainsFunc(f, func(s string) bool { return strings.ContainsAny(s, "[]") }) {
			return nil, fmt.Errorf("unexpected crt-list line with options: %q", oneLine(line))
		}
		e := entries[f[0]]
		e.SNI = append(e.SNI, f[1:]...)
		if caFile != "" {
			if e.ClientCAs == nil {
				e.ClientCAs = map[string]string{}
			}
			for _, sni := range f[1:] {
				e.ClientCAs[sni] = caFile
			}
		}
		entries[f[0]] = e
	}
	for file, e := range entries {
		slices.Sort(e.SNI)
		e.SNI = slices.Compact(e.SNI)
		entries[file] = e
	}
	return entries, nil
}
