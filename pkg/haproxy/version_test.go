package haproxy

import (
	"slices"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		major, minor, patch int
	}{
		{"2.6.12-1+deb12u4", 2, 6, 12},
		{"3.4.7-1", 3, 4, 7},
		{"3.0.11-1+deb13u5", 3, 0, 11},
		{"3.2-dev5", 3, 2, 0},
		{"HAProxy version 3.2.26-1 2026/10/14 - https://haproxy.org/\nStatus: long-term", 3, 2, 26},
	} {
		v, err := ParseVersion(tc.in)
		if err != nil || v.Major != tc.major || v.Minor != tc.minor || v.Patch != tc.patch {
			t.Errorf("ParseVersion(%q) = %+v, %v", tc.in, v, err)
		}
	}
	for _, bad := range []string{"", "three", "3", "3.x.1", "1.2.3.4", "-1.2"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %+v, want an error", bad, v)
		}
	}
}

// One case per tested line, and lines Bollard does not know.
func TestFeaturesFor(t *testing.T) {
	for _, tc := range []struct {
		version string
		known   bool
		want    []string
	}{
		{"2.6.12-1+deb12u4", true, []string{"reload-by-show-proc"}},
		{"3.0.11-1+deb13u5", true, []string{"master-reload-status"}},
		{"3.2.26-1", true, []string{"master-reload-status"}},
		{"3.4.7-1", true, []string{"master-reload-status", "runtime-backends"}},
		// Unknown lines, older or newer: the 2.6 behaviour.
		{"2.8.5", false, []string{"reload-by-show-proc"}},
		{"3.3.1", false, []string{"reload-by-show-proc"}},
		{"3.5.0", false, []string{"reload-by-show-proc"}},
		{"4.0.0", false, []string{"reload-by-show-proc"}},
	} {
		v, err := ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		f := FeaturesFor(v)
		if f.Known != tc.known || !slices.Equal(f.List(), tc.want) {
			t.Errorf("FeaturesFor(%s) = known %v %v, want known %v %v", tc.version, f.Known, f.List(), tc.known, tc.want)
		}
	}
}
