package hostile

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy"
)

// testSecurity checks DESIGN.md §3 on the running controller: key files
// are 0600, HAProxy's admin interfaces are Unix sockets only, and no
// Secret byte reaches the controller's log. (No config snippets: the
// annotation-snippet case; RBAC: e2e/deploy's can-i checks.)
func testSecurity(t *testing.T, e *env) {
	t.Run("key files are 0600", func(t *testing.T) {
		n := 0
		err := filepath.WalkDir(e.b.ConfigDir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pem") {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			n++
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %v, want 0600", path, perm)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 {
			t.Errorf("only %d .pem files checked", n)
		}
		e.results = append(e.results, fmt.Sprintf("security | key files | checked | %d .pem files, all 0600", n))
	})
	t.Run("sockets are unix, never TCP", func(t *testing.T) { checkSockets(t, e) })
	t.Run("no Secret bytes in the log", func(t *testing.T) {
		log := e.b.Log()
		lines := 0
		for _, key := range e.keys {
			for _, line := range strings.Split(string(key), "\n") {
				if line == "" || strings.HasPrefix(line, "-----") {
					continue
				}
				lines++
				if strings.Contains(log, line) {
					t.Errorf("key material %q is in the controller log", line)
				}
			}
		}
		if strings.Contains(log, "PRIVATE KEY") {
			t.Error("the controller log holds a PEM private key armour")
		}
		e.results = append(e.results, fmt.Sprintf("security | Secret bytes in logs | checked | %d base64 lines of %d keys, none in %d bytes of log", lines, len(e.keys), len(log)))
	})
}

func checkSockets(t *testing.T, e *env) {
	cfg, err := os.ReadFile(filepath.Join(e.b.ConfigDir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var sockets []string
	for _, line := range strings.Split(string(cfg), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "stats" && f[1] == "socket" {
			sockets = append(sockets, f[2])
		}
	}
	pid, err := e.b.MasterPID()
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	for i, a := range args {
		if a == "-S" && i+1 < len(args) {
			path, _, _ := strings.Cut(args[i+1], ",")
			sockets = append(sockets, path)
		}
	}
	if len(sockets) != 2 {
		t.Fatalf("want one stats socket and one master socket (-S), got %q (args %q)", sockets, args)
	}
	for _, s := range sockets {
		info, err := os.Lstat(s)
		switch {
		case !filepath.IsAbs(s) || strings.Contains(s, "@"):
			t.Errorf("socket %q is not a file-system path", s)
		case err != nil:
			t.Errorf("socket %s: %v", s, err)
		case info.Mode().Type() != os.ModeSocket || info.Mode().Perm() != 0o600:
			t.Errorf("%s: mode %v, want a unix socket with mode 0600", s, info.Mode())
		}
	}
	// The only TCP sockets HAProxy listens on are the traffic and stats ports.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	procs, err := haproxy.NewMaster(filepath.Join(e.b.RuntimeDir, "master.sock"), nil).Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, p := range procs {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.PID))
		for _, fd := range fds {
			if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.PID, fd.Name())); err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.Trim(target[len("socket:"):], "[]")] = true
			}
		}
	}
	allowed := map[int]bool{e.b.HTTP: true, e.b.HTTPS: true, e.b.Stats: true}
	listening := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			_, portHex, _ := strings.Cut(f[1], ":")
			b, _ := hex.DecodeString(portHex)
			if len(b) == 2 {
				listening[int(b[0])<<8|int(b[1])] = true
			}
		}
	}
	for port := range listening {
		if !allowed[port] {
			t.Errorf("HAProxy listens on TCP port %d, which is neither a traffic nor the stats port", port)
		}
	}
	if !listening[e.b.HTTP] || !listening[e.b.HTTPS] {
		t.Errorf("HAProxy's TCP listeners %v lack the traffic ports %d/%d", listening, e.b.HTTP, e.b.HTTPS)
	}
	ports := make([]string, 0, len(listening))
	for p := range listening {
		ports = append(ports, strconv.Itoa(p))
	}
	e.results = append(e.results, fmt.Sprintf("security | sockets | checked | %v are unix sockets 0600; TCP listeners only %v (traffic and stats)", sockets, ports))
}
