package netns

import (
	"net/netip"
	"testing"
)

func TestNames(t *testing.T) {
	ns, veth := Names(netip.MustParsePrefix("198.18.0.0/24"))
	if ns != "testcluster-198-18-0-0-24" || veth != "tcc612000018" {
		t.Fatalf("got %s %s", ns, veth)
	}
	_, other := Names(netip.MustParsePrefix("198.18.3.0/24"))
	if other == veth || len(other) > 15 {
		t.Fatalf("veth %q collides or is too long", other)
	}
	if gw := Gateway(netip.MustParsePrefix("198.18.3.0/24")); gw.String() != "198.18.3.1" {
		t.Fatalf("gateway %s", gw)
	}
}
