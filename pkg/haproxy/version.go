package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Version is an HAProxy release, as `show version` or `haproxy -v` print it.
type Version struct {
	Major, Minor, Patch int
	Raw                 string // as HAProxy printed it, e.g. "3.4.7-1"
}

func (v Version) String() string { return v.Raw }

// Line is the release line, e.g. "3.4".
func (v Version) Line() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// ParseVersion reads "3.4.7-1", "2.6.12-1+deb12u4" or the first line of
// `haproxy -v` ("HAProxy version 3.4.7-1 2026/10/14 - https://haproxy.org/").
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if line, _, _ := strings.Cut(s, "\n"); strings.HasPrefix(line, "HAProxy version ") {
		s = strings.Fields(line)[2]
	}
	raw := s
	// The release is what precedes a Debian revision or a dev suffix.
	if i := strings.IndexAny(s, "-+~ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("haproxy version %q: want major.minor[.patch]", raw)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("haproxy version %q: %q is not a number", raw, p)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2], Raw: raw}, nil
}

// Features is what Bollard may use on one HAProxy version. Every behaviour
// that differs between versions is decided here, in FeaturesFor.
type Features struct {
	Version Version
	// Known is false for a line Bollard was not tested with; it then gets
	// the 2.6 behaviour.
	Known bool
	// ReloadStatus: the master CLI answers `reload` with "Success=1" or
	// "Success=0" and the new worker's startup log, once the worker is
	// ready or has failed (3.0+). Without it, a reload is confirmed by a
	// new worker in `show proc`.
	ReloadStatus bool
	// RuntimeBackends: backends are created, published, unpublished and
	// deleted over the runtime API (`add backend ... from <defaults>`,
	// `publish backend`, `del backend`; 3.4+).
	RuntimeBackends bool
}

// TestedLines returns the release lines Bollard is tested with (make
// test-haproxy-matrix).
func TestedLines() []string { return []string{"2.6", "3.0", "3.2", "3.4"} }

// FeaturesFor returns what Bollard uses on v.
func FeaturesFor(v Version) Features {
	f := Features{Version: v}
	for _, line := range TestedLines() {
		if v.Line() == line {
			f.Known = true
		}
	}
	if !f.Known {
		return f // the 2.6 behaviour
	}
	f.ReloadStatus = v.AtLeast(3, 0)
	f.RuntimeBackends = v.AtLeast(3, 4)
	return f
}

// List names the version-dependent capabilities in use, for logs and docs.
func (f Features) List() []string {
	var out []string
	if f.ReloadStatus {
		out = append(out, "master-reload-status")
	} else {
		out = append(out, "reload-by-show-proc")
	}
	if f.RuntimeBackends {
		out = append(out, "runtime-backends")
	}
	return out
}

// Version asks the running worker which version it is (`show info`).
func (r *Runtime) Version(ctx context.Context) (Version, error) {
	var info string
	err := r.conn.do(ctx, func(s *session) error {
		out, err := s.send("show info\n")
		info = out
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("show info: %w", err)
	}
	v := infoField(info, "Version")
	if v == "" {
		return Version{}, fmt.Errorf("show info has no Version: %q", oneLine(info))
	}
	return ParseVersion(v)
}
