// Package preflight checks, before a cluster starts, that it can run here and that its pod
// subnet cannot capture traffic the machine needs.
package preflight

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// allowedBlock is the block that pod subnets must come from: 198.18.0.0/15, set aside for
// network benchmark tests (RFC 2544), which no real host uses.
func allowedBlock() netip.Prefix { return netip.MustParsePrefix("198.18.0.0/15") }

// CheckRoot fails unless the process runs as root, which network namespaces need.
func CheckRoot() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("testcluster must run as root (network namespaces and veth links need it); effective uid is %d", os.Geteuid())
	}
	return nil
}

// ParseSubnet parses an IPv4 pod subnet and checks its shape.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet %q: %w", s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("subnet %s: only IPv4 subnets are supported", p)
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return netip.Prefix{}, fmt.Errorf("subnet %s: prefix length must be between /16 and /28", p)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("subnet %s has host bits set; did you mean %s?", p, p.Masked())
	}
	if block := allowedBlock(); !block.Contains(p.Addr()) || p.Bits() < block.Bits() {
		return netip.Prefix{}, fmt.Errorf("subnet %s is outside %s, the benchmark block that test clusters must use (for example 198.18.0.0/24)", p, block)
	}
	return p, nil
}

// source is an address the machine uses, and where it came from.
type source struct {
	addr netip.Addr
	what string
}

// CheckSubnet refuses a subnet that overlaps a route of this machine (other than the default
// route) or the address of a host the machine resolves and uses: /etc/hosts entries,
// resolv.conf name servers, the Debian mirrors of the apt sources, and the Go module proxy and
// checksum database (GOPROXY, GOSUMDB). TESTCLUSTER_CHECK_HOSTS adds comma-separated host names.
func CheckSubnet(ctx context.Context, log *slog.Logger, subnet netip.Prefix) error {
	routes, err := routes(ctx)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.prefix.Overlaps(subnet) {
			return fmt.Errorf("subnet %s overlaps the route %q of this machine; pick another subnet "+
				"(a leftover test cluster is removed with `testcluster down --state DIR`, or `ip link del DEV` and `ip netns del NAME`)",
				subnet, r.line)
		}
	}
	used := usedAddresses(ctx, log)
	log.Debug("subnet check", "subnet", subnet, "routes", len(routes), "addresses", len(used))
	for _, s := range used {
		if subnet.Contains(s.addr) {
			return fmt.Errorf("subnet %s contains %s, the address of %s; routing it into the test namespace would cut this machine off from it, pick another subnet",
				subnet, s.addr, s.what)
		}
	}
	return nil
}

type route struct {
	prefix netip.Prefix
	line   string
}

// isRouteType reports whether a word of `ip route` output is a route type.
func isRouteType(w string) bool {
	switch w {
	case "unicast", "local", "broadcast", "multicast", "anycast",
		"blackhole", "unreachable", "prohibit", "throw", "nat":
		return true
	}
	return false
}

// routes lists the IPv4 routes of every table, without default routes.
func routes(ctx context.Context) ([]route, error) {
	out, err := exec.CommandContext(ctx, "ip", "-4", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("list routes (ip -4 route): %w: %s", err, strings.TrimSpace(string(out)))
	}
	var rs []route
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && isRouteType(f[0]) {
			f = f[1:]
		}
		if len(f) == 0 || f[0] == "default" {
			continue
		}
		p, err := netip.ParsePrefix(f[0])
		if err != nil {
			a, aerr := netip.ParseAddr(f[0])
			if aerr != nil {
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		rs = append(rs, route{prefix: p, line: strings.TrimSpace(line)})
	}
	return rs, nil
}

// usedAddresses collects the addresses the machine uses, resolving host names with a timeout.
func usedAddresses(ctx context.Context, log *slog.Logger) []source {
	var out []source
	hosts := map[string]string{} // host name -> where it came from
	addLiteralOrHost := func(h, what string) {
		if h == "" {
			return
		}
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			out = append(out, source{addr: a.Unmap(), what: what})
			return
		}
		hosts[h] = what
	}
	for _, l := range fields("/etc/hosts") {
		addLiteralOrHost(l[0], "an /etc/hosts entry")
	}
	for _, l := range fields("/etc/resolv.conf") {
		if l[0] == "nameserver" && len(l) > 1 {
			addLiteralOrHost(l[1], "a name server in /etc/resolv.conf")
		}
	}
	for h, file := range aptHosts() {
		addLiteralOrHost(h, "the package mirror "+h+" (from "+file+")")
	}
	for _, h := range goHosts(ctx) {
		addLiteralOrHost(h, "the Go module host "+h+" (from GOPROXY/GOSUMDB)")
	}
	for _, h := range strings.Split(os.Getenv("TESTCLUSTER_CHECK_HOSTS"), ",") {
		addLiteralOrHost(strings.TrimSpace(h), "a host from TESTCLUSTER_CHECK_HOSTS")
	}

	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for h, what := range hosts {
		wg.Go(func() {
			addrs, err := resolver(rctx, h)
			if err != nil {
				log.Debug("cannot resolve host for the subnet check", "host", h, "err", err)
				return
			}
			log.Debug("resolved for the subnet check", "host", h, "addrs", addrs)
			mu.Lock()
			defer mu.Unlock()
			for _, a := range addrs {
				out = append(out, source{addr: a.Unmap(), what: what})
			}
		})
	}
	wg.Wait()
	return out
}

// fields returns the whitespace-separated fields of each non-comment line of a file.
func fields(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fs := strings.Fields(line); len(fs) > 0 {
			out = append(out, fs)
		}
	}
	return out
}
