package haproxy

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

// builtCommand is what FuzzCommand expects of one constructor call: the
// arguments HAProxy's tokenizer must see, and the payload lines if any.
type builtCommand struct {
	cmd     Command
	err     error
	args    []string
	payload []string // nil: no payload; for SetSSLCert only checked for shape
	pem     bool
}

// buildFuzzed calls constructor op%18 with the fuzzed arguments.
func buildFuzzed(op uint8, a, b, c string, n int) builtCommand {
	var r builtCommand
	word := func(s ...string) []string { return strings.Fields(strings.Join(s, " ")) }
	switch op % 18 {
	case 0:
		addr, err := netip.ParseAddr(c)
		if err != nil {
			addr = netip.Addr{}
		}
		r.cmd, r.err = SetServerAddr(a, b, addr, uint16(n))
		r.args = append(word("set server"), a+"/"+b, "addr", addr.Unmap().String(), "port", strconv.Itoa(int(uint16(n))))
	case 1:
		r.cmd, r.err = SetServerState(a, b, ServerState(c))
		r.args = append(word("set server"), a+"/"+b, "state", c)
	case 2:
		r.cmd, r.err = SetServerWeight(a, b, n)
		r.args = append(word("set server"), a+"/"+b, "weight", strconv.Itoa(n))
	case 3:
		r.cmd, r.err = SetMap(a, b, c)
		r.args = append(word("set map"), a, b, c)
	case 4:
		r.cmd, r.err = AddMap(a, b, c)
		r.args = append(word("add map"), a, b, c)
	case 5:
		r.cmd, r.err = DelMap(a, b)
		r.args = append(word("del map"), a, b)
	case 6:
		r.cmd, r.err = AddMapVersion(a, n, b, c)
		r.args = append(word("add map"), "@"+strconv.Itoa(n), a, b, c)
	case 7:
		r.cmd, r.err = CommitMap(a, n)
		r.args = append(word("commit map"), "@"+strconv.Itoa(n), a)
	case 8:
		r.cmd, r.err = PrepareMap(a)
		r.args = append(word("prepare map"), a)
	case 9:
		r.cmd, r.err = ShowMap(a)
		r.args = append(word("show map"), a)
	case 10:
		r.cmd, r.err = ShowServersState(a)
		r.args = append(word("show servers state"), a)
	case 11:
		r.cmd, r.err = NewSSLCert(a)
		r.args = append(word("new ssl cert"), a)
	case 12:
		r.cmd, r.err = CommitSSLCert(a)
		r.args = append(word("commit ssl cert"), a)
	case 13:
		r.cmd, r.err = AbortSSLCert(a)
		r.args = append(word("abort ssl cert"), a)
	case 14:
		r.cmd, r.err = DelSSLCert(a)
		r.args = append(word("del ssl cert"), a)
	case 15:
		r.cmd, r.err = DelSSLCrtList(a, b)
		r.args = append(word("del ssl crt-list"), a, b)
	case 16:
		sni := strings.Split(c, ",")
		if c == "" {
			sni = nil
		}
		r.cmd, r.err = AddSSLCrtList(a, b, sni)
		r.args = append(word("add ssl crt-list"), a, "<<")
		r.payload = []string{strings.Join(append([]string{b}, sni...), " ")}
	case 17:
		r.cmd, r.err = SetSSLCert(a, []byte(c))
		r.args = append(word("set ssl cert"), a, "<<")
		r.pem = true
	}
	return r
}

// FuzzCommand drives every command constructor with arbitrary input. A
// constructor either refuses, or its command
//   - is one line of printable bytes, under the line limit;
//   - splits, with HAProxy's tokenizer (cliArgs), into exactly one command
//     whose arguments are the intended ones: no unescaped ';', space or
//     line feed got through;
//   - does not end in "<<" unless it is a payload command: HAProxy 2.6 reads
//     any line ending in "<<" as the start of a payload and swallows the
//     lines after it;
//   - has a payload, if any, of non-empty lines without '\r' that ends in
//     exactly one empty line, and a PEM payload never shows in String().
func FuzzCommand(f *testing.F) {
	pair, err := tlscert.SelfSigned([]string{"b.test"}, time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	pem := string(pair.Combined())
	seeds := []struct {
		op      uint8
		a, b, c string
		n       int
	}{
		{0, "ns_svc_80", "slot1", "10.0.0.1", 8080},
		{0, "be;x", "slot1", "fe80::1%eth0", 80},
		{1, "be1", "slot1", "ready", 0},
		{1, "be1", "slot1", "ready;disable frontend http", 0},
		{2, "be1", "slot\n1", "", 300},
		{3, "maps/hosts.map", "/a;disable", "be2", 0},
		{4, "maps/hosts.map", "/a;disable frontend http", "be2", 0},
		{4, "maps/hosts.map", "k", "v<<", 0},
		{4, "maps/hosts.map", `a\`, `\;`, 0},
		{5, "maps/hosts.map", "#1", "", 0},
		{6, "maps/paths-prefix.map", "h.example/a;b/", "ns_svc_80", 3},
		{7, "@1", "", "", -1},
		{8, "maps/hosts.map;show info", "", "", 0},
		{10, "be1\nshow info", "", "", 0},
		{11, "certs/a.pem", "", "", 0},
		{15, "certs/crt-list.txt", "certs/b.pem:2", "", 0},
		{16, "certs/crt-list.txt", "certs/b.pem", "b.test,*.c.test,!x.b.test", 0},
		{16, "certs/crt-list.txt", "certs/b.pem", "[verify none]", 0},
		{16, "certs/crt-list.txt", "certs/b.pem", "a\n\nshow info", 0},
		{17, "certs/b.pem", "", pem, 0},
		{17, "certs/b.pem", "", pem + "\n\nshow info\n", 0},
		{17, "certs/b.pem", "", strings.ReplaceAll(pem, "\n", "\r\n"), 0},
	}
	for _, s := range seeds {
		f.Add(s.op, s.a, s.b, s.c, s.n)
	}
	f.Fuzz(func(t *testing.T, op uint8, a, b, c string, n int) {
		r := buildFuzzed(op, a, b, c, n)
		if r.err != nil {
			return
		}
		text := r.cmd.text
		if text == "" || len(text) >= maxLine {
			t.Fatalf("command of %d bytes", len(text))
		}
		for i := 0; i < len(text); i++ {
			if text[i] < 0x20 || text[i] == 0x7f {
				t.Fatalf("%q holds control byte %#x", text, text[i])
			}
		}
		cmds := cliArgs(text)
		if len(cmds) != 1 {
			t.Fatalf("%q splits into %d commands: %q", text, len(cmds), cmds)
		}
		got := cmds[0]
		if r.payload == nil && !r.pem {
			if strings.HasSuffix(text, "<<") {
				t.Fatalf("%q ends in the payload pattern", text)
			}
			if strings.Join(got, "\x00") != strings.Join(r.args, "\x00") {
				t.Fatalf("%q parses as %q, want %q", text, got, r.args)
			}
			if r.cmd.wire() != text+"\n" {
				t.Fatalf("wire() = %q", r.cmd.wire())
			}
			return
		}
		// Payload commands: "<text> <<", then the payload, then one empty line.
		if strings.Join(append(got, "<<"), "\x00") != strings.Join(r.args, "\x00") {
			t.Fatalf("%q parses as %q, want %q", text, got, r.args)
		}
		wire := r.cmd.wire()
		head, payload, ok := strings.Cut(wire, " <<\n")
		if !ok || head != text || !strings.HasSuffix(payload, "\n\n") {
			t.Fatalf("payload command wire %q", wire)
		}
		lines := strings.Split(strings.TrimSuffix(payload, "\n\n"), "\n")
		for _, line := range lines {
			if line == "" || strings.ContainsAny(line, "\r\x00") {
				t.Fatalf("payload line %q in %q", line, wire)
			}
		}
		if r.payload != nil && strings.Join(lines, "\n") != strings.Join(r.payload, "\n") {
			t.Fatalf("payload %q, want %q", lines, r.payload)
		}
		if r.pem {
			if bytes.Contains([]byte(r.cmd.String()), []byte("PRIVATE")) || !strings.HasSuffix(r.cmd.String(), "<<PEM>>") {
				t.Fatalf("String() shows the PEM: %q", r.cmd.String())
			}
			if !strings.HasPrefix(lines[0], "-----BEGIN ") || !strings.HasPrefix(lines[len(lines)-1], "-----END ") {
				t.Fatalf("PEM payload does not start and end with armour: %q", payload)
			}
		}
	})
}
