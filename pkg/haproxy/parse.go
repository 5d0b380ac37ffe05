package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ServerStatus is one server line of `show servers state`.
type ServerStatus struct {
	Backend string
	Name    string
	// Addr is the zero Addr when HAProxy shows no IP address.
	Addr netip.Addr
	Port uint16
	// OperState is srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping.
	OperState int
	// AdminState is srv_admin_state, a bit field (see Maint and Drain).
	AdminState int
	// Weight is srv_uweight, the weight set by the config or the runtime API.
	Weight int
}

// Admin state bits of HAProxy 2.6 (SRV_ADMF_*). 0x04, "disabled in the
// config", stays set after `set server state ready`, so it is not part of
// the maintenance mask.
const (
	adminMaintMask = 0x01 | 0x02 | 0x20 // forced, inherited, DNS resolution
	adminDrainMask = 0x08 | 0x10        // forced, inherited
)

// Maint reports whether the server is in maintenance.
func (s ServerStatus) Maint() bool { return s.AdminState&adminMaintMask != 0 }

// Drain reports whether the server is draining.
func (s ServerStatus) Drain() bool { return s.AdminState&adminDrainMask != 0 }

// Serving reports whether the server takes traffic or drains: it is not in
// maintenance.
func (s ServerStatus) Serving() bool { return !s.Maint() }

// State is the administrative state as `set server ... state` names it.
func (s ServerStatus) State() ServerState {
	switch {
	case s.Maint():
		return StateMaint
	case s.Drain():
		return StateDrain
	default:
		return StateReady
	}
}

// AddrPort is the server's address and port.
func (s ServerStatus) AddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Addr, s.Port) }

// parseServersState parses `show servers state` (format version 1). Columns
// are found by name from the header line.
func parseServersState(out string) ([]ServerStatus, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("unexpected show servers state output: %q", oneLine(out))
	}
	col := map[string]int{}
	for i, name := range strings.Fields(strings.TrimPrefix(lines[1], "# ")) {
		col[name] = i
	}
	for _, name := range []string{"be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_port"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("show servers state: no %s column in %q", name, lines[1])
		}
	}
	var out2 []ServerStatus
	for _, line := range lines[2:] {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < len(col) {
			return nil, fmt.Errorf("show servers state: short line %q", line)
		}
		st := ServerStatus{Backend: f[col["be_name"]], Name: f[col["srv_name"]]}
		if a, err := netip.ParseAddr(f[col["srv_addr"]]); err == nil {
			st.Addr = a
		}
		nums := []struct {
			name string
			dst  *int
		}{{"srv_op_state", &st.OperState}, {"srv_admin_state", &st.AdminState}, {"srv_uweight", &st.Weight}}
		for _, n := range nums {
			v, err := strconv.Atoi(f[col[n.name]])
			if err != nil {
				return nil, fmt.Errorf("show servers state: %s in %q: %w", n.name, line, err)
			}
			*n.dst = v
		}
		port, err := strconv.ParseUint(f[col["srv_port"]], 10, 16)
		if err != nil {
			return nil, fmt.Errorf("show servers state: srv_port in %q: %w", line, err)
		}
		st.Port = uint16(port)
		out2 = append(out2, st)
	}
	return out2, nil
}

// Process is one line of the master's `show proc`.
type Process struct {
	PID     int
	Role    string // "master", "worker" or "program"
	Reloads int
	Uptime  string
	Version string
	// Old is true for a worker listed under "# old workers": it is
	// finishing its connections after a reload.
	Old bool
	// FailedReloads is the master's "[failed: N]" count: reloads whose
	// config did not load since the last successful one. 0 for workers.
	FailedReloads int
}

// parseShowProc parses `show proc` of HAProxy 2.6:
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	2668            master          3 [failed: 1]   0d00h11m43s     2.6.12-1+deb12u4
//	# workers
//	18077           worker          1               0d00h00m02s     2.6.12-1+deb12u4
//	# old workers
//	17665           worker          2               0d00h00m14s     2.6.12-1+deb12u4
//	# programs
func parseShowProc(out string) ([]Process, error) {
	if !strings.HasPrefix(out, "#<PID>") {
		return nil, fmt.Errorf("unexpected show proc output: %q", oneLine(out))
	}
	var procs []Process
	section := "master"
	for _, line := range strings.Split(out, "\n")[1:] {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("show proc: short line %q", line)
		}
		p := Process{Role: f[1], Old: section == "old workers"}
		var err error
		if p.PID, err = strconv.Atoi(f[0]); err != nil {
			return nil, fmt.Errorf("show proc: pid in %q: %w", line, err)
		}
		if p.Reloads, err = strconv.Atoi(f[2]); err != nil {
			return nil, fmt.Errorf("show proc: reloads in %q: %w", line, err)
		}
		rest := f[3:]
		if rest[0] == "[failed:" && len(rest) >= 2 {
			if p.FailedReloads, err = strconv.Atoi(strings.TrimSuffix(rest[1], "]")); err != nil {
				return nil, fmt.Errorf("show proc: failed reloads in %q: %w", line, err)
			}
			rest = rest[2:]
		}
		if len(rest) > 0 {
			p.Uptime = rest[0]
			p.Version = strings.Join(rest[1:], " ")
		}
		procs = append(procs, p)
	}
	if len(procs) == 0 || procs[0].Role != "master" {
		return nil, fmt.Errorf("show proc lists no master: %q", oneLine(out))
	}
	return procs, nil
}
