package haproxy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

func TestCommandText(t *testing.T) {
	ip4 := netip.MustParseAddr("10.1.2.3")
	tests := []struct {
		name string
		cmd  func() (Command, error)
		want string // "" means the constructor must refuse
	}{
		{"addr", func() (Command, error) { return SetServerAddr("be1", "slot1", ip4, 8080) }, "set server be1/slot1 addr 10.1.2.3 port 8080"},
		{"addr v6", func() (Command, error) {
			return SetServerAddr("ns_svc_80", "slot12", netip.MustParseAddr("fd00::1"), 80)
		}, "set server ns_svc_80/slot12 addr fd00::1 port 80"},
		{"addr 4in6 unmapped", func() (Command, error) {
			return SetServerAddr("be1", "slot1", netip.MustParseAddr("::ffff:10.0.0.1"), 80)
		}, "set server be1/slot1 addr 10.0.0.1 port 80"},
		{"addr zero", func() (Command, error) { return SetServerAddr("be1", "slot1", netip.Addr{}, 80) }, ""},
		{"addr zone", func() (Command, error) { return SetServerAddr("be1", "slot1", netip.MustParseAddr("fe80::1%eth0"), 80) }, ""},
		{"addr port 0", func() (Command, error) { return SetServerAddr("be1", "slot1", ip4, 0) }, ""},
		{"backend with slash", func() (Command, error) { return SetServerAddr("be/x", "slot1", ip4, 80) }, ""},
		{"backend with space", func() (Command, error) { return SetServerAddr("be x", "slot1", ip4, 80) }, ""},
		{"backend with semicolon", func() (Command, error) { return SetServerState("be;quit", "slot1", StateReady) }, ""},
		{"server with newline", func() (Command, error) { return SetServerState("be1", "s\nshow info", StateReady) }, ""},
		{"empty server", func() (Command, error) { return SetServerState("be1", "", StateReady) }, ""},
		{"state ready", func() (Command, error) { return SetServerState("be1", "slot1", StateReady) }, "set server be1/slot1 state ready"},
		{"state drain", func() (Command, error) { return SetServerState("be1", "slot1", StateDrain) }, "set server be1/slot1 state drain"},
		{"state bogus", func() (Command, error) { return SetServerState("be1", "slot1", "up") }, ""},
		{"weight", func() (Command, error) { return SetServerWeight("be1", "slot1", 256) }, "set server be1/slot1 weight 256"},
		{"weight 0", func() (Command, error) { return SetServerWeight("be1", "slot1", 0) }, "set server be1/slot1 weight 0"},
		{"weight too big", func() (Command, error) { return SetServerWeight("be1", "slot1", 257) }, ""},
		{"weight negative", func() (Command, error) { return SetServerWeight("be1", "slot1", -1) }, ""},
		{"set map", func() (Command, error) { return SetMap("maps/hosts.map", "a.test", "be1") }, "set map maps/hosts.map a.test be1"},
		{"add map", func() (Command, error) { return AddMap("maps/paths.map", "a.test/api/", "ns_svc_80") }, "add map maps/paths.map a.test/api/ ns_svc_80"},
		{"del map", func() (Command, error) { return DelMap("maps/hosts.map", "a.test") }, "del map maps/hosts.map a.test"},
		{"key with semicolon escaped", func() (Command, error) { return AddMap("maps/hosts.map", "/a;disable", "be2") }, `add map maps/hosts.map /a\;disable be2`},
		{"key with backslash escaped", func() (Command, error) { return SetMap("maps/hosts.map", `a\b`, "v") }, `set map maps/hosts.map a\\b v`},
		{"value with semicolon escaped", func() (Command, error) { return AddMap("maps/hosts.map", "k", "v;quit") }, `add map maps/hosts.map k v\;quit`},
		{"injection with spaces", func() (Command, error) { return AddMap("maps/hosts.map", "/a;disable frontend http", "be2") }, ""},
		{"injection in set map", func() (Command, error) { return SetMap("maps/hosts.map", "/a;disable frontend http", "be2") }, ""},
		{"injection in value", func() (Command, error) { return SetMap("maps/hosts.map", "k", "be2;disable frontend http") }, ""},
		{"key with line feed", func() (Command, error) { return AddMap("maps/hosts.map", "a\ndisable", "v") }, ""},
		{"key with carriage return", func() (Command, error) { return AddMap("maps/hosts.map", "a\rb", "v") }, ""},
		{"key with NUL", func() (Command, error) { return AddMap("maps/hosts.map", "a\x00b", "v") }, ""},
		{"key with tab", func() (Command, error) { return AddMap("maps/hosts.map", "a\tb", "v") }, ""},
		{"key with DEL", func() (Command, error) { return AddMap("maps/hosts.map", "a\x7fb", "v") }, ""},
		{"key with escape", func() (Command, error) { return AddMap("maps/hosts.map", "a\x1bb", "v") }, ""},
		{"key not UTF-8", func() (Command, error) { return AddMap("maps/hosts.map", "a\xffb", "v") }, ""},
		{"value ending in the payload pattern", func() (Command, error) { return AddMap("maps/hosts.map", "k", "v<<") }, ""},
		{"key ending in the payload pattern", func() (Command, error) { return DelMap("maps/hosts.map", "k<<") }, ""},
		{"inner angle brackets", func() (Command, error) { return AddMap("maps/hosts.map", "a<<b", "<v") }, "add map maps/hosts.map a<<b <v"},
		{"key as entry reference", func() (Command, error) { return DelMap("maps/hosts.map", "#1") }, ""},
		{"empty key", func() (Command, error) { return AddMap("maps/hosts.map", "", "v") }, ""},
		{"empty value", func() (Command, error) { return SetMap("maps/hosts.map", "k", "") }, ""},
		{"map file as version", func() (Command, error) { return SetMap("@1", "k", "v") }, ""},
		{"map file with semicolon", func() (Command, error) { return SetMap("maps/a.map;quit", "k", "v") }, ""},
		{"map file with space", func() (Command, error) { return SetMap("maps/a map", "k", "v") }, ""},
		{"map file as id", func() (Command, error) { return DelMap("#0", "k") }, ""},
		{"prepare map", func() (Command, error) { return PrepareMap("maps/hosts.map") }, "prepare map maps/hosts.map"},
		{"add map version", func() (Command, error) { return AddMapVersion("maps/hosts.map", 3, "a;b", "be1") }, `add map @3 maps/hosts.map a\;b be1`},
		{"add map negative version", func() (Command, error) { return AddMapVersion("maps/hosts.map", -1, "k", "v") }, ""},
		{"commit map", func() (Command, error) { return CommitMap("maps/hosts.map", 3) }, "commit map @3 maps/hosts.map"},
		{"commit map negative", func() (Command, error) { return CommitMap("maps/hosts.map", -2) }, ""},
		{"new ssl cert", func() (Command, error) { return NewSSLCert("certs/ns_a.pem") }, "new ssl cert certs/ns_a.pem"},
		{"commit ssl cert", func() (Command, error) { return CommitSSLCert("certs/ns_a.pem") }, "commit ssl cert certs/ns_a.pem"},
		{"abort ssl cert", func() (Command, error) { return AbortSSLCert("certs/ns_a.pem") }, "abort ssl cert certs/ns_a.pem"},
		{"del ssl cert", func() (Command, error) { return DelSSLCert("certs/ns_a.pem") }, "del ssl cert certs/ns_a.pem"},
		{"cert file with newline", func() (Command, error) { return NewSSLCert("certs/a.pem\nshow info") }, ""},
		{"crt-list add", func() (Command, error) {
			return AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"b.test", "*.b.test", "!x.b.test"})
		}, "add ssl crt-list certs/crt-list.txt << certs/b.pem b.test *.b.test !x.b.test"},
		{"crt-list add no sni", func() (Command, error) { return AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", nil) }, "add ssl crt-list certs/crt-list.txt << certs/b.pem"},
		{"crt-list ssl options refused", func() (Command, error) {
			return AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"[verify", "none]"})
		}, ""},
		{"crt-list sni with space", func() (Command, error) { return AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"a b"}) }, ""},
		{"crt-list sni with newline", func() (Command, error) {
			return AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"a\n\nshow info"})
		}, ""},
		{"crt-list del", func() (Command, error) { return DelSSLCrtList("certs/crt-list.txt", "certs/b.pem:2") }, "del ssl crt-list certs/crt-list.txt certs/b.pem:2"},
		{"show servers state", func() (Command, error) { return ShowServersState("be1") }, "show servers state be1"},
		{"show map", func() (Command, error) { return ShowMap("maps/hosts.map") }, "show map maps/hosts.map"},
		{"too long", func() (Command, error) { return AddMap("maps/hosts.map", strings.Repeat("a", maxLine), "v") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := tt.cmd()
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted %q", cmd.wire())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cmd.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if cmd.payload == nil && cmd.wire() != tt.want+"\n" {
				t.Errorf("wire() = %q, want %q", cmd.wire(), tt.want+"\n")
			}
		})
	}
}

func TestCrtListPayload(t *testing.T) {
	cmd := must(AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"b.test", "*.c.test"}))
	want := "add ssl crt-list certs/crt-list.txt <<\ncerts/b.pem b.test *.c.test\n\n"
	if cmd.wire() != want {
		t.Errorf("wire() = %q, want %q", cmd.wire(), want)
	}
}

func TestSetSSLCertPayload(t *testing.T) {
	pair, err := tlscert.SelfSigned([]string{"b.test"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pem := pair.Combined()
	cmd := must(SetSSLCert("certs/b.pem", pem))
	if got, want := cmd.String(), "set ssl cert certs/b.pem << <<PEM>>"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if strings.Contains(cmd.String(), "PRIVATE") {
		t.Error("String() leaks the key")
	}
	want := "set ssl cert certs/b.pem <<\n" + string(pem) + "\n"
	if cmd.wire() != want {
		t.Errorf("wire() = %q, want %q", cmd.wire(), want)
	}
	// The only empty line is the one that ends the payload.
	if strings.Count(cmd.wire(), "\n\n") != 1 || !strings.HasSuffix(cmd.wire(), "\n\n") {
		t.Errorf("payload holds an empty line before its end: %q", cmd.wire())
	}
	// Trailing line feeds are normalised.
	if c2 := must(SetSSLCert("certs/b.pem", append(append([]byte{}, pem...), "\n\n"...))); c2.wire() != want {
		t.Errorf("trailing line feeds kept: %q", c2.wire())
	}

	cert, key := string(pair.CertPEM), string(pair.KeyPEM)
	bad := map[string]string{
		"empty":                  "",
		"CRLF":                   strings.ReplaceAll(cert+key, "\n", "\r\n"),
		"empty line inside":      cert + "\n" + key,
		"command after block":    cert + key + "\nshow info\n",
		"empty line and command": cert + key + "\n\nshow info\n",
		"text before":            "hello\n" + cert + key,
		"text between":           cert + "junk\n" + key,
		"semicolon":              cert + key + "-----BEGIN X-----\n;\n-----END X-----\n",
		"key only":               key,
		"not PEM":                "garbage\n",
		"truncated block":        cert[:len(cert)-20],
		"NUL":                    cert + "\x00" + key,
		"tab":                    cert + "\t" + key,
	}
	for name, data := range bad {
		if c, err := SetSSLCert("certs/b.pem", []byte(data)); err == nil {
			t.Errorf("%s: accepted %q", name, c.wire())
		}
	}
}

// cliArgs splits a command line as HAProxy 2.6's CLI does: commands on
// unescaped ';', arguments on spaces and tabs, "\x" read as "x".
func cliArgs(line string) [][]string {
	var cmds [][]string
	var args []string
	var cur strings.Builder
	inArg := false
	flush := func() {
		if inArg {
			args = append(args, cur.String())
			cur.Reset()
			inArg = false
		}
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inArg = true
		case c == ';':
			flush()
			cmds = append(cmds, args)
			args = nil
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	flush()
	return append(cmds, args)
}

// FuzzMapCommand checks that any key and value either is refused or
// reaches HAProxy as exactly one command whose arguments are the key and
// value unchanged.
func FuzzMapCommand(f *testing.F) {
	for _, s := range []string{"a.test", "/a;disable frontend http", `a\;b`, "a\nb", "#1", "x;", `\`, "é", "a b"} {
		f.Add(s, "be1")
		f.Add("k", s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		cmd, err := AddMap("maps/hosts.map", key, value)
		if err != nil {
			return
		}
		line := cmd.wire()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("%q: not one line", line)
		}
		cmds := cliArgs(strings.TrimSuffix(line, "\n"))
		if len(cmds) != 1 {
			t.Fatalf("%q splits into %d commands", line, len(cmds))
		}
		want := []string{"add", "map", "maps/hosts.map", key, value}
		if strings.Join(cmds[0], "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q parses as %q, want %q", line, cmds[0], want)
		}
	})
}

// The splitter above is what makes FuzzMapCommand meaningful: it must see
// an unescaped injection as two commands.
func TestCliArgsSeesInjection(t *testing.T) {
	got := cliArgs(`add map maps/hosts.map /a;disable frontend http be2`)
	if len(got) != 2 || strings.Join(got[1], " ") != "disable frontend http be2" {
		t.Fatalf("cliArgs = %q", got)
	}
	got = cliArgs(`add map maps/hosts.map /a\;disable be2`)
	if len(got) != 1 || got[0][3] != "/a;disable" {
		t.Fatalf("cliArgs = %q", got)
	}
}
