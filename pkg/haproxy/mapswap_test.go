package haproxy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wires is what Execute sends for a swap once prepare answered ver.
func wires(cmd Command, ver int) []string {
	out := []string{cmd.wire()}
	for _, s := range cmd.swap.steps(ver) {
		out = append(out, s.wire())
	}
	return out
}

func TestReplaceMapText(t *testing.T) {
	cmd, err := ReplaceMap("maps/hosts.map", []MapEntry{{"a.test", "be1"}, {`/a;b\c`, "v;quit"}, {"a<<b", "<v"}})
	if err != nil {
		t.Fatal(err)
	}
	// In a payload HAProxy takes ';' and '\' as they are (2.6.12 and
	// 3.4.7, show map): escaping them would change the key.
	want := []string{
		"prepare map maps/hosts.map\n",
		"add map @7 maps/hosts.map <<\na.test be1\n/a;b\\c v;quit\na<<b <v\n\n",
		"commit map @7 maps/hosts.map\n",
	}
	if got := wires(cmd, 7); !slices.Equal(got, want) {
		t.Fatalf("wire:\n%q\nwant\n%q", got, want)
	}
	if got := cmd.String(); got != "replace map maps/hosts.map (3 entries)" {
		t.Errorf("String() = %q", got)
	}
	if cmd.reply != replyVersion {
		t.Errorf("the first step must expect a version, got reply kind %d", cmd.reply)
	}

	// An empty map: prepare and commit, nothing added.
	empty, err := ReplaceMap("maps/hosts.map", nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"prepare map maps/hosts.map\n", "commit map @0 maps/hosts.map\n"}
	if got := wires(empty, 0); !slices.Equal(got, want) {
		t.Fatalf("empty swap: %q, want %q", got, want)
	}
}

func TestReplaceMapChunks(t *testing.T) {
	var entries []MapEntry
	for i := range 5000 {
		entries = append(entries, MapEntry{fmt.Sprintf("host-%05d.example/some/path/", i), fmt.Sprintf("ns-%d_svc_80", i)})
	}
	cmd, err := ReplaceMap("maps/paths-prefix.map", entries)
	if err != nil {
		t.Fatal(err)
	}
	ws := wires(cmd, 4294967295) // the longest version HAProxy can answer
	if len(ws) < 3+10 {
		t.Fatalf("%d entries in %d commands: want several payload chunks", len(entries), len(ws))
	}
	var lines []string
	for _, w := range ws[1 : len(ws)-1] {
		if len(w) > maxPayload {
			t.Errorf("payload command of %d bytes, over %d", len(w), maxPayload)
		}
		head, payload, ok := strings.Cut(w, " <<\n")
		if !ok || head != "add map @4294967295 maps/paths-prefix.map" || !strings.HasSuffix(payload, "\n\n") {
			t.Fatalf("payload command %.80q", w)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(payload, "\n\n"), "\n")...)
	}
	if len(lines) != len(entries) {
		t.Fatalf("%d lines sent for %d entries", len(lines), len(entries))
	}
	for i, l := range lines {
		if want := entries[i].Key + " " + entries[i].Value; l != want {
			t.Fatalf("line %d = %q, want %q (entries keep their order)", i, l, want)
		}
	}
	file, got, ok := cmd.MapSwap()
	if !ok || file != "maps/paths-prefix.map" || !slices.Equal(got, entries) {
		t.Errorf("MapSwap() = %q, %d entries, %v", file, len(got), ok)
	}
	if _, _, ok := must(AddMap("maps/hosts.map", "k", "v")).MapSwap(); ok {
		t.Error("MapSwap() of an add map says it is a swap")
	}
}

func TestReplaceMapRefuses(t *testing.T) {
	tests := map[string]struct {
		file       string
		key, value string
	}{
		"line feed in key":           {"maps/hosts.map", "a\nshow info", "v"},
		"line feed in value":         {"maps/hosts.map", "k", "v\n\nshow info"},
		"carriage return":            {"maps/hosts.map", "a\rb", "v"},
		"space in key":               {"maps/hosts.map", "a b", "v"},
		"space in value":             {"maps/hosts.map", "k", "v w"},
		"tab":                        {"maps/hosts.map", "a\tb", "v"},
		"NUL":                        {"maps/hosts.map", "a\x00b", "v"},
		"empty key":                  {"maps/hosts.map", "", "v"},
		"empty value":                {"maps/hosts.map", "k", ""},
		"entry reference":            {"maps/hosts.map", "#1", "v"},
		"payload pattern at the end": {"maps/hosts.map", "k", "v<<"},
		"not UTF-8":                  {"maps/hosts.map", "a\xffb", "v"},
		"too long":                   {"maps/hosts.map", strings.Repeat("a", maxLine), "v"},
		"map file as version":        {"@1", "k", "v"},
		"map file with semicolon":    {"maps/a.map;show info", "k", "v"},
	}
	for name, tc := range tests {
		entries := []MapEntry{{"ok.test", "be1"}, {tc.key, tc.value}}
		if cmd, err := ReplaceMap(tc.file, entries); err == nil {
			t.Errorf("%s: accepted %q", name, wires(cmd, 1))
		}
	}
}

func TestMapVersion(t *testing.T) {
	for msg, want := range map[string]int{"New version created: 3": 3, "New version created: 4294967295\n": 4294967295} {
		if got, err := mapVersion(msg); err != nil || got != want {
			t.Errorf("mapVersion(%q) = %d, %v", msg, got, err)
		}
	}
	for _, msg := range []string{"", "New version created: -1", "New version created: 4294967296", "New version created: 1;show info", "Unknown command"} {
		if got, err := mapVersion(msg); err == nil {
			t.Errorf("mapVersion(%q) = %d", msg, got)
		}
	}
}

// FuzzReplaceMap checks that any entry is refused or reaches HAProxy as
// exactly the wanted payload line: one command line per step, payload
// lines that are not empty (an empty line ends the payload and the next
// line would run as a command), hold no CR or LF, and split at their one
// space into the key and value unchanged.
func FuzzReplaceMap(f *testing.F) {
	for _, s := range []string{"a.test", "/a;disable frontend http", `a\;b`, "a\nb", "a\n\nshow info", "#1", "x<<", "é", "a b", "\r"} {
		f.Add(s, "be1")
		f.Add("k", s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		entries := []MapEntry{{"first.test", "be1"}, {key, value}, {"last.test", "be2"}}
		cmd, err := ReplaceMap("maps/hosts.map", entries)
		if err != nil {
			return
		}
		ws := wires(cmd, 12)
		var got []MapEntry
		for i, w := range ws {
			head, payload, isPayload := strings.Cut(w, " <<\n")
			if !isPayload {
				head = strings.TrimSuffix(w, "\n")
			}
			if strings.ContainsAny(head, "\r\n") || len(cliArgs(head)) != 1 {
				t.Fatalf("step %d %q is not one command", i, head)
			}
			if !isPayload {
				continue
			}
			if len(w) > maxPayload || !strings.HasSuffix(payload, "\n\n") {
				t.Fatalf("payload command %q", w)
			}
			for _, line := range strings.Split(strings.TrimSuffix(payload, "\n\n"), "\n") {
				k, v, ok := strings.Cut(line, " ")
				if line == "" || !ok || strings.ContainsAny(line, "\r\t") || strings.Contains(v, " ") {
					t.Fatalf("payload line %q", line)
				}
				got = append(got, MapEntry{k, v})
			}
		}
		if !slices.Equal(got, entries) {
			t.Fatalf("sent %q, want %q", got, entries)
		}
	})
}
