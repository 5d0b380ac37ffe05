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
	out, err := r.Query(ctx, cmd)
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

// CrtListEntries returns the SNI filters of each certificate file of a
// crt-list; a file on several lines gets the union.
func (r *Runtime) CrtListEntries(ctx context.Context, crtList string) (map[string][]string, error) {
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
//
// Bollard writes no per-line SSL options, so a "[" is unexpected.
func parseCrtList(out string) (map[string][]string, error) {
	entries := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if strings.HasPrefix(line, "[") || slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, "[") }) {
			return nil, fmt.Errorf("unexpected crt-list line with options: %q", oneLine(line))
		}
		entries[f[0]] = append(entries[f[0]], f[1:]...)
	}
	for file, sni := range entries {
		slices.Sort(sni)
		entries[file] = slices.Compact(sni)
	}
	return entries, nil
}
