package haproxy

import (
	"fmt"
	"net/netip"
)

// AddressBarrier builds a `show servers state BACKEND` that succeeds only
// when HAProxy reports each server of want at its address. From 3.0 on
// `set server addr` answers before the new address is in use: a server
// made ready at once took requests to its previous address (44 of 300
// requests on 3.4.7 in one run). Sent between the address changes and the
// state changes, it holds the batch until the addresses apply.
func AddressBarrier(backend string, want map[string]netip.AddrPort) (Command, error) {
	if err := checkProxyName("backend", backend); err != nil {
		return Command{}, err
	}
	for name := range want {
		if err := checkProxyName("server", name); err != nil {
			return Command{}, err
		}
	}
	cmd, err := build(replyServersAt, "show servers state", backend)
	cmd.servers = want
	return cmd, err
}

// barrierRetries bounds the re-reads of a barrier whose addresses are not
// applied yet; each is one round trip (~0.1 ms).
const barrierRetries = 200

// serversAt reports whether a `show servers state` reply shows every server
// of want at its address.
func serversAt(msg string, want map[string]netip.AddrPort) (bool, error) {
	states, err := parseServersState(msg)
	if err != nil {
		return false, err
	}
	found := 0
	for _, st := range states {
		if ap, ok := want[st.Name]; ok {
			if st.AddrPort() != ap {
				return false, nil
			}
			found++
		}
	}
	if found != len(want) {
		return false, fmt.Errorf("servers %v missing from the reply", want)
	}
	return true, nil
}
