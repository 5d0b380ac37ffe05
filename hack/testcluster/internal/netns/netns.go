// Package netns creates and removes the network namespace that holds a test cluster's pods,
// with a veth pair linking it to the host, using the ip(8) command.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// PodIface is the name of the veth end inside the namespace.
const PodIface = "eth0"

// Names derives the namespace and host-side veth names from the subnet, so that clusters on
// different subnets never collide. The veth name stays within the kernel's 15 characters.
func Names(subnet netip.Prefix) (ns, veth string) {
	a := subnet.Masked().Addr().As4()
	ns = fmt.Sprintf("testcluster-%d-%d-%d-%d-%d", a[0], a[1], a[2], a[3], subnet.Bits())
	veth = fmt.Sprintf("tc%02x%02x%02x%02x%02x", a[0], a[1], a[2], a[3], subnet.Bits())
	return ns, veth
}

// Gateway is the host-side address of the subnet: its first address.
func Gateway(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// Run runs ip(8) with args and returns its output, or an error that carries it.
func Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Available checks that ip(8) exists and supports network namespaces.
func Available(ctx context.Context) error {
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("the ip command (iproute2) is not installed: %w", err)
	}
	if _, err := Run(ctx, "netns", "list"); err != nil {
		return fmt.Errorf("`ip netns` is unavailable: %w", err)
	}
	return nil
}

// Exists reports whether the named namespace exists.
func Exists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// LinkExists reports whether the host has a link with this name.
func LinkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// Setup creates the namespace and the veth pair, gives the host end the subnet's gateway
// address and brings both ends and the namespace's loopback up.
func Setup(ctx context.Context, ns, veth string, subnet netip.Prefix) error {
	gw := netip.PrefixFrom(Gateway(subnet), subnet.Bits())
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", veth, "type", "veth", "peer", "name", PodIface, "netns", ns},
		{"addr", "add", gw.String(), "dev", veth},
		{"link", "set", veth, "up"},
		{"netns", "exec", ns, "ip", "link", "set", PodIface, "up"},
		{"netns", "exec", ns, "ip", "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if _, err := Run(ctx, s...); err != nil {
			return fmt.Errorf("set up network namespace %s: %w", ns, err)
		}
	}
	return nil
}

// AddAddr assigns addr (with the subnet's prefix length) to the pod interface; an address
// that is already there is fine.
func AddAddr(ctx context.Context, ns string, addr netip.Prefix) error {
	out, err := Run(ctx, "netns", "exec", ns, "ip", "addr", "add", addr.String(), "dev", PodIface)
	if err != nil && !strings.Contains(out, "File exists") && !strings.Contains(out, "already assigned") {
		return fmt.Errorf("add pod address %s: %w", addr, err)
	}
	return nil
}

// PIDs lists the processes that run inside the namespace.
func PIDs(ctx context.Context, ns string) ([]int, error) {
	if !Exists(ns) {
		return nil, nil
	}
	out, err := Run(ctx, "netns", "pids", ns)
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", ns, err)
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Teardown removes the veth pair and the namespace. Missing ones are fine.
func Teardown(ctx context.Context, ns, veth string) error {
	var errs []error
	if LinkExists(veth) {
		if _, err := Run(ctx, "link", "del", veth); err != nil && LinkExists(veth) {
			errs = append(errs, err)
		}
	}
	if Exists(ns) {
		if _, err := Run(ctx, "netns", "del", ns); err != nil && Exists(ns) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove network namespace %s: %w", ns, err)
	}
	return nil
}
