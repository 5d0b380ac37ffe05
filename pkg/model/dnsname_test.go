package model

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The patterns the hand-written matchers replaced.
var (
	dnsLabelPattern = `[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?`
	hostRegexp      = regexp.MustCompile(`^(\*\.)?` + dnsLabelPattern + `(\.` + dnsLabelPattern + `)*$`)
	labelRegexp     = regexp.MustCompile(`^` + dnsLabelPattern + `$`)
	subdomainRegexp = regexp.MustCompile(`^` + dnsLabelPattern + `(\.` + dnsLabelPattern + `)*$`)
	portNameRegexp  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$`)
)

// TestDNSMatchersAgreeWithRegexps compares the matchers with the regexps on
// random strings made of the characters that decide them, of lengths
// around each limit, and on hand-picked edge cases.
func TestDNSMatchersAgreeWithRegexps(t *testing.T) {
	cases := []string{"", "a", "-", "a-", "-a", "a-b", "a--b", "*.", "*.a", "*.*.a", "a.*.b", "a..b", ".a", "a.",
		"A", "é", "a_b", "1", "0-0", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 15), strings.Repeat("a", 16), strings.Repeat("a", 63) + "." + strings.Repeat("b", 63),
		"a\n", "\na", "a\x00", "*.a.b"}
	rng := rand.New(rand.NewPCG(1, 16))
	const alphabet = "ab09-.*A_\n"
	for i := 0; i < 200000; i++ {
		n := rng.IntN(8)
		if rng.IntN(10) == 0 {
			n = 10 + rng.IntN(60) // around the 15- and 63-byte limits
		}
		var sb strings.Builder
		for j := 0; j < n; j++ {
			c := alphabet[rng.IntN(len(alphabet))]
			if n > 10 && rng.IntN(4) != 0 {
				c = 'a' // long strings mostly valid so the limits decide
			}
			sb.WriteByte(c)
		}
		cases = append(cases, sb.String())
	}
	for _, s := range cases {
		if got, want := isHostName(s), hostRegexp.MatchString(s); got != want {
			t.Fatalf("isHostName(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := isDNSLabel(s, 63), labelRegexp.MatchString(s); got != want {
			t.Fatalf("isDNSLabel(%q, 63) = %v, the regexp says %v", s, got, want)
		}
		if got, want := isDNSSubdomain(s), subdomainRegexp.MatchString(s); got != want {
			t.Fatalf("isDNSSubdomain(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := isDNSLabel(s, 15), portNameRegexp.MatchString(s); got != want {
			t.Fatalf("isDNSLabel(%q, 15) = %v, the regexp says %v", s, got, want)
		}
	}
}
