package haproxy

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseReadback(t *testing.T) {
	v, found, err := parseGetMap(`type=str, case=sensitive, found=yes, idx=tree, key="epoch", value="tok123", type="str"`)
	if err != nil || !found || v != "tok123" {
		t.Errorf("get map found: %q %v %v", v, found, err)
	}
	if _, found, err := parseGetMap("type=str, case=sensitive, found=no"); err != nil || found {
		t.Errorf("get map not found: %v %v", found, err)
	}
	if _, _, err := parseGetMap("Unknown map identifier"); err == nil {
		t.Error("get map: garbage accepted")
	}
	entries, err := parseShowMap("0x55c0d47d0860 a.test be1\n0x55c0d47d0900 b.test be2\n\n")
	if err != nil || !slices.Equal(entries, []MapEntry{{"a.test", "be1"}, {"b.test", "be2"}}) {
		t.Errorf("show map: %v %v", entries, err)
	}
	if _, err := parseShowMap("0x1 a b c\n"); err == nil {
		t.Error("show map: four fields accepted")
	}
	list, err := parseCrtList("# certs/crt-list.txt\ncerts/a.pem a.test b.test\ncerts/b.pem c.test\ncerts/a.pem a.test x.test\n")
	if err != nil || !slices.Equal(list["certs/a.pem"].SNI, []string{"a.test", "b.test", "x.test"}) || !slices.Equal(list["certs/b.pem"].SNI, []string{"c.test"}) {
		t.Errorf("crt-list: %v %v", list, err)
	}
	for _, bad := range []string{"certs/a.pem [alpn h2] a.test\n", "certs/a.pem [verify optional ca-file cas/x.pem alpn h2] a.test\n",
		"certs/a.pem [verify required ca-file cas/x.pem] a.test\n", "certs/a.pem [verify optional ca-file ]] a.test\n"} {
		if _, err := parseCrtList(bad); err == nil {
			t.Errorf("crt-list: options accepted in %q", bad)
		}
	}
	list, err = parseCrtList("certs/a.pem a.test\ncerts/a.pem [verify optional ca-file cas/ns_ca.pem] c.test d.test\n")
	if err != nil || !slices.Equal(list["certs/a.pem"].SNI, []string{"a.test", "c.test", "d.test"}) ||
		!maps.Equal(list["certs/a.pem"].ClientCAs, map[string]string{"c.test": "cas/ns_ca.pem", "d.test": "cas/ns_ca.pem"}) {
		t.Errorf("crt-list with client CAs: %v %v", list, err)
	}
}

// What the read-back returns is what the runtime API changed, on the real
// HAProxy.
func TestReadbackRuntime(t *testing.T) {
	p := startProxy(t)
	b := selfSigned(t, "b.test")
	p.exec(
		must(AddMap("maps/hosts.map", "epoch", "tok1")),
		must(NewSSLCert("certs/b.pem")), must(SetSSLCert("certs/b.pem", b.Combined())), must(CommitSSLCert("certs/b.pem")),
	)
	v, found, err := p.rt.MapValue(p.ctx(), "maps/hosts.map", "epoch")
	if err != nil || !found || v != "tok1" {
		t.Fatalf("MapValue: %q %v %v", v, found, err)
	}
	if _, found, err := p.rt.MapValue(p.ctx(), "maps/hosts.map", "nope"); err != nil || found {
		t.Fatalf("MapValue of a missing key: %v %v", found, err)
	}
	entries, err := p.rt.MapEntries(p.ctx(), "maps/hosts.map")
	if err != nil || !slices.Equal(entries, []MapEntry{{"a.test", "be1"}, {"epoch", "tok1"}}) {
		t.Fatalf("MapEntries: %v %v", entries, err)
	}
	files, err := p.rt.SSLCertFiles(p.ctx())
	if err != nil || !slices.Equal(files, []string{"certs/a.pem", "certs/b.pem", "certs/default.pem"}) {
		t.Fatalf("SSLCertFiles: %v %v", files, err)
	}
	// b.pem is in the store but on no crt-list line: the half-done state
	// a failed runtime batch leaves.
	list, err := p.rt.CrtListEntries(p.ctx(), "certs/crt-list.txt")
	if err != nil || len(list) != 1 || !slices.Equal(list["certs/a.pem"].SNI, []string{"a.test"}) {
		t.Fatalf("CrtListEntries: %v %v", list, err)
	}
	fp, err := p.rt.SSLCertFingerprint(p.ctx(), "certs/b.pem")
	block, _ := pem.Decode(b.CertPEM)
	sum := sha1.Sum(block.Bytes)
	if err != nil || fp != strings.ToUpper(hex.EncodeToString(sum[:])) {
		t.Fatalf("SSLCertFingerprint: %q %v", fp, err)
	}
	states, err := p.rt.AllServersState(p.ctx())
	if err != nil || len(states) == 0 {
		t.Fatalf("AllServersState: %d %v", len(states), err)
	}
}

// What the epoch check adds to every sync that sends runtime commands: one
// `get map` on the kept connection (plus the worker check that any reused
// connection makes first).
func TestEpochCheckCost(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	p := startProxy(t)
	p.exec(must(AddMap("maps/hosts.map", "epoch", "tok1")))
	const n = 500
	start := time.Now()
	for range n {
		if _, _, err := p.rt.MapValue(p.ctx(), "maps/hosts.map", "epoch"); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / n
	t.Logf("epoch check: %v per get map (kept connection, worker check included)", per)
	if per > 5*time.Millisecond {
		t.Errorf("%v per get map: the connection is not kept", per)
	}
}
