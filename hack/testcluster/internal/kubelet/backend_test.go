package kubelet

import (
	"net/netip"
	"testing"
)

func TestAllocatorWalksUpThenReuses(t *testing.T) {
	a := newAllocator(netip.MustParsePrefix("198.18.0.0/28"))
	var got []string
	for range 5 {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	want := []string{"198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13", "198.18.0.14"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	if _, err := a.allocate(); err == nil {
		t.Fatal("allocated past the end of a /28 (broadcast is .15)")
	}
	a.release(netip.MustParseAddr("198.18.0.11"))
	ip, err := a.allocate()
	if err != nil || ip.String() != "198.18.0.11" {
		t.Fatalf("reuse: got %v %v", ip, err)
	}
	if a.reserve(netip.MustParseAddr("198.18.0.12")) {
		t.Fatal("reserved an address in use")
	}
	if a.reserve(netip.MustParseAddr("198.18.0.2")) {
		t.Fatal("reserved an address below .10")
	}
}

func TestAllocatorPrefersUnusedAddresses(t *testing.T) {
	a := newAllocator(netip.MustParsePrefix("198.18.0.0/24"))
	first, _ := a.allocate()
	a.release(first)
	second, _ := a.allocate()
	if second == first {
		t.Fatalf("freed address %s reused before the others had their turn", first)
	}
}
