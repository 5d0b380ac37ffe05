package preflight

import (
	"strings"
	"testing"
)

func TestParseSubnet(t *testing.T) {
	for in, want := range map[string]string{
		"198.18.0.0/24": "",
		"198.19.7.0/24": "",
		"198.18.0.5/24": "host bits",
		"10.0.0.0/24":   "outside",
		"100.64.0.0/24": "outside",
		"198.18.0.0/8":  "between",
		"fd00::/64":     "IPv4",
		"nonsense":      "subnet",
	} {
		_, err := ParseSubnet(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error with %q", in, err, want)
		}
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://proxy.example.test":    "proxy.example.test",
		"http://mirror.example.test/x/": "mirror.example.test",
		"direct":                        "",
		"off":                           "",
		"file:///tmp/x":                 "",
	} {
		if got := urlHost(in); got != want {
			t.Errorf("urlHost(%q) = %q, want %q", in, got, want)
		}
	}
}
