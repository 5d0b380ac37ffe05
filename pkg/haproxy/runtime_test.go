package haproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawCommand sends one line on a new non-prompt connection and returns
// everything HAProxy answers until it closes the connection.
func rawCommand(t *testing.T, socket, line string) string {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// mapHas reports whether show map output has the entry "<ref> key value".
func mapHas(out, key, value string) bool {
	for _, line := range strings.Split(out, "\n") {
		if _, entry, ok := strings.Cut(line, " "); ok && entry == key+" "+value {
			return true
		}
	}
	return false
}

func slotState(t *testing.T, p *proxy, backend, slot string) ServerStatus {
	t.Helper()
	states, err := p.rt.ServersState(p.ctx(), backend)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Name == slot {
			return st
		}
	}
	t.Fatalf("no %s/%s in %+v", backend, slot, states)
	return ServerStatus{}
}

// A slot declared "server-template slot 1-4 0.0.0.0:1 disabled" takes a
// real address and port at run time and then serves traffic.
func TestServerSlot(t *testing.T) {
	p := startProxy(t)
	a, b := backend(t, "A"), backend(t, "B")

	if st := slotState(t, p, "be1", "slot1"); st.State() != StateMaint || st.Port != 1 {
		t.Fatalf("declared slot: %+v, want maint on port 1", st)
	}
	p.mustGet("a.test", 503, "")

	p.exec(p.fill("be1", "slot1", a)...)
	p.mustGet("a.test", 200, "A /")
	st := slotState(t, p, "be1", "slot1")
	// 0x04 ("disabled in the config") stays set on a ready slot.
	if st.AddrPort() != a || st.State() != StateReady || !st.Serving() || st.OperState != 2 || st.AdminState != 4 {
		t.Fatalf("after ready: %+v", st)
	}

	// Make before break: fill slot2, then put slot1 in maint.
	p.exec(append(p.fill("be1", "slot2", b), must(SetServerState("be1", "slot1", StateMaint)))...)
	for range 4 {
		p.mustGet("a.test", 200, "B /")
	}
	if st := slotState(t, p, "be1", "slot1"); st.State() != StateMaint || st.Serving() {
		t.Fatalf("after maint: %+v", st)
	}

	p.exec(must(SetServerState("be1", "slot2", StateDrain)), must(SetServerWeight("be1", "slot2", 7)))
	st = slotState(t, p, "be1", "slot2")
	if st.State() != StateDrain || st.Weight != 7 || !st.Serving() || st.AdminState != 12 {
		t.Fatalf("after drain: %+v", st)
	}
	p.mustGet("a.test", 503, "") // a draining server takes no new traffic
}

func TestRuntimeErrors(t *testing.T) {
	p := startProxy(t)
	ip := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name  string
		cmd   Command
		reply string
	}{
		// Only reachable by hand: SetServerAddr takes a netip.Addr. HAProxy
		// reports it with severity 4, like a success.
		{"invalid addr", Command{text: "set server be1/slot1 addr 999.0.0.1 port 80", reply: replyAddr}, "[4]: Invalid addr '999.0.0.1'"},
		{"unknown backend", must(SetServerState("nope", "slot1", StateReady)), "No such backend"},
		{"unknown server", must(SetServerAddr("be1", "slot9", ip, 80)), "No such server"},
		{"unknown server weight", must(SetServerWeight("be1", "slot9", 1)), "No such server"},
		{"missing map key", must(SetMap("maps/hosts.map", "missing.test", "be1")), "entry not found"},
		{"del missing map key", must(DelMap("maps/hosts.map", "missing.test")), "Key not found"},
		{"unknown map", must(AddMap("maps/none.map", "k", "v")), "Unknown map identifier"},
		{"map by absolute path", must(AddMap(filepath.Join(p.dir, "maps/hosts.map"), "k", "v")), "Unknown map identifier"},
		{"commit unprepared version", must(CommitMap("maps/hosts.map", 9)), "Version number out of range"},
		{"add to future version", must(AddMapVersion("maps/hosts.map", 9, "k", "v")), "Version number in the future"},
		{"unknown backend state", must(ShowServersState("nope")), "Can't find backend"},
		{"unknown command", Command{text: "bogus command", reply: replyOutput}, "Unknown command"},
		{"abort without transaction", must(AbortSSLCert("certs/a.pem")), "No ongoing transaction"},
		{"commit without transaction", must(CommitSSLCert("certs/a.pem")), "No ongoing transaction"},
		{"cert by absolute path", must(NewSSLCert(filepath.Join(p.dir, "certs/a.pem"))), ""},
		{"existing cert", must(NewSSLCert("certs/a.pem")), "already exists"},
		{"crt-list by absolute path", must(AddSSLCrtList(filepath.Join(p.dir, "certs/crt-list.txt"), "certs/a.pem", nil)), "does not exist"},
		{"crt-list unknown cert", must(AddSSLCrtList("certs/crt-list.txt", "certs/zz.pem", nil)), "does not exist"},
		{"del cert in use", must(DelSSLCert("certs/a.pem")), "in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reply == "" {
				// Absolute paths are new names to "new ssl cert": it succeeds, and the
				// store is then not used by any bind. Documented, not an error.
				if err := p.rt.Execute(p.ctx(), tt.cmd); err != nil {
					t.Fatal(err)
				}
				return
			}
			err := p.rt.Execute(p.ctx(), tt.cmd)
			var re *ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("Execute(%s) = %v, want a *ReplyError", tt.cmd, err)
			}
			if !strings.Contains(re.Reply, tt.reply) || re.Command != tt.cmd.String() {
				t.Fatalf("error %v, want the command and %q", err, tt.reply)
			}
		})
	}

	// Server commands go in one write: all of them run, and the error
	// names the first that failed.
	err := p.rt.Execute(p.ctx(),
		must(SetServerWeight("be1", "slot3", 10)),
		must(SetServerWeight("be1", "slot99", 10)),
		must(SetServerWeight("be1", "slot4", 10)),
	)
	if err == nil || !strings.Contains(err.Error(), "2/3") || !strings.Contains(err.Error(), "slot99") {
		t.Fatalf("batch error = %v, want command 2/3 named", err)
	}
	for _, slot := range []string{"slot3", "slot4"} {
		if w := slotState(t, p, "be1", slot).Weight; w != 10 {
			t.Errorf("%s weight %d, want 10: pipelined with the refused command", slot, w)
		}
	}
	// Other commands stop at the first failure: the third does not run.
	err = p.rt.Execute(p.ctx(),
		must(AddMap("maps/hosts.map", "first.test", "be1")),
		must(DelMap("maps/hosts.map", "missing.test")),
		must(AddMap("maps/hosts.map", "third.test", "be1")),
	)
	if err == nil || !strings.Contains(err.Error(), "2/3") {
		t.Fatalf("map batch error = %v, want command 2/3 named", err)
	}
	if out := queryOut(t, p, must(ShowMap("maps/hosts.map"))); !mapHas(out, "first.test", "be1") || mapHas(out, "third.test", "be1") {
		t.Errorf("hosts map after a refused del map:\n%s\nwant first.test, not third.test", out)
	}
	// A slot is not made ready in the write that sets its address: when
	// the address is refused, the slot stays in maintenance.
	p.exec(must(SetServerState("be1", "slot4", StateMaint)))
	err = p.rt.Execute(p.ctx(),
		must(SetServerAddr("be1", "slot99", netip.MustParseAddr("127.0.0.1"), 80)),
		must(SetServerState("be1", "slot4", StateReady)),
	)
	if err == nil || !strings.Contains(err.Error(), "1/2") {
		t.Fatalf("addr then ready: error %v, want command 1/2 named", err)
	}
	if st := slotState(t, p, "be1", "slot4"); !st.Maint() {
		t.Errorf("slot4 admin state %d: made ready after a refused set server addr", st.AdminState)
	}
	// The connection survives refused commands.
	p.exec(must(SetServerState("be1", "slot3", StateMaint)))

	if err := p.rt.Execute(p.ctx(), Command{}); err == nil {
		t.Error("Execute sent an empty command")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.rt.Execute(ctx, must(SetServerWeight("be1", "slot3", 3))); !errors.Is(err, context.Canceled) {
		t.Errorf("Execute with a cancelled ctx: %v", err)
	}
	if w := slotState(t, p, "be1", "slot3").Weight; w != 10 {
		t.Errorf("slot3 weight %d: a cancelled Execute ran", w)
	}
}

// HAProxy closes idle CLI sessions ("stats timeout", or "set timeout cli"
// per session); the next command reconnects once, transparently.
func TestRuntimeReconnects(t *testing.T) {
	p := startProxy(t)
	p.query("set timeout cli 1") // this session only, in seconds
	time.Sleep(1500 * time.Millisecond)
	p.exec(must(SetServerWeight("be1", "slot1", 5)))
	if !strings.Contains(p.logs.String(), "haproxy socket closed; reconnecting") {
		t.Error("no reconnection logged: the session did not time out, the test proves nothing")
	}
	if w := slotState(t, p, "be1", "slot1").Weight; w != 5 {
		t.Errorf("weight %d after reconnecting, want 5", w)
	}
}

// The names HAProxy knows files by are the config's relative paths.
func TestFileReferences(t *testing.T) {
	p := startProxy(t)
	if out := p.query("show map"); !strings.Contains(out, "(maps/hosts.map)") {
		t.Errorf("show map: %q", out)
	}
	if out := p.query("show ssl cert"); !strings.Contains(out, "\ncerts/a.pem\n") || !strings.Contains(out, "certs/default.pem") {
		t.Errorf("show ssl cert: %q", out)
	}
	if out := p.query("show ssl crt-list"); strings.TrimSpace(out) != "certs/crt-list.txt" {
		t.Errorf("show ssl crt-list: %q", out)
	}
	pem := selfSigned(t, "a.test").Combined()
	err := p.rt.Execute(p.ctx(), must(SetSSLCert(filepath.Join(p.dir, "certs/a.pem"), pem)))
	if err == nil || !strings.Contains(err.Error(), "not referenced by the configuration") {
		t.Errorf("set ssl cert by absolute path: %v", err)
	}
}

// The hostile key of the issue. Sent raw it runs "disable frontend http";
// escaped it is one literal key and the frontend stays up.
func TestMapInjection(t *testing.T) {
	p := startProxy(t)
	const hostile = "/a;disable frontend http"
	if _, err := AddMap("maps/hosts.map", hostile, "be2"); err == nil {
		t.Fatal("AddMap accepted a key with spaces")
	}
	if _, err := SetMap("maps/hosts.map", hostile, "be2"); err == nil {
		t.Fatal("SetMap accepted a key with spaces")
	}

	// Control: unescaped, HAProxy runs the second command.
	if got := p.frontendStatus(); got != "OPEN" {
		t.Fatalf("frontend %s before the test", got)
	}
	// On a connection of its own: the second reply would also desynchronise
	// a prompt-mode connection.
	raw := rawCommand(t, filepath.Join(p.run, "admin.sock"), "add map maps/hosts.map "+hostile+" be2")
	if got := p.frontendStatus(); got != "PAUSED" { // 2.6's word for disabled
		t.Fatalf("control failed: unescaped injection (reply %q) left the frontend %s", raw, got)
	}
	p.query("enable frontend http")

	// Escaped with escapeArg (spaces escaped by hand here, since the API
	// refuses them), the whole string is one key.
	key, err := escapeArg("key", "/a;disable")
	if err != nil {
		t.Fatal(err)
	}
	p.exec(Command{text: "add map maps/hosts.map " + key + `\ frontend\ http be2`, reply: replyEmpty})
	if got := p.frontendStatus(); got != "OPEN" {
		t.Fatalf("escaped key left the frontend %s", got)
	}
	if out := p.query("show map maps/hosts.map"); !mapHas(out, hostile, "be2") {
		t.Fatalf("show map has no literal key %q:\n%s", hostile, out)
	}

	// Through the API: ';' in keys and values is escaped and stays literal.
	p.exec(
		must(AddMap("maps/hosts.map", "/b;disable", "v;1")),
		must(SetMap("maps/hosts.map", "/b;disable", "v;2")),
		must(AddMap("maps/hosts.map", `c\d;quit`, "x")),
	)
	out := p.query("show map maps/hosts.map")
	if !mapHas(out, "/b;disable", "v;2") || !mapHas(out, `c\d;quit`, "x") {
		t.Fatalf("show map:\n%s", out)
	}
	if got := p.frontendStatus(); got != "OPEN" {
		t.Fatalf("frontend %s", got)
	}
	p.mustGet("a.test", 503, "") // still routing
}

func TestMapRuntime(t *testing.T) {
	p := startProxy(t)
	a, b := backend(t, "A"), backend(t, "B")
	p.exec(append(p.fill("be1", "slot1", a), p.fill("be2", "slot1", b)...)...)
	p.mustGet("new.test", 404, "no route")
	p.exec(must(AddMap("maps/hosts.map", "new.test", "be2")))
	p.mustGet("new.test", 200, "B /")
	p.exec(must(SetMap("maps/hosts.map", "new.test", "be1")))
	p.mustGet("new.test", 200, "A /")
	p.exec(must(DelMap("maps/hosts.map", "new.test")))
	p.mustGet("new.test", 404, "no route")
	p.mustGet("a.test", 200, "A /")

	// Atomic swap of the whole map.
	ver, err := p.rt.PrepareMap(p.ctx(), "maps/hosts.map")
	if err != nil {
		t.Fatal(err)
	}
	p.exec(
		must(AddMapVersion("maps/hosts.map", ver, "x.test", "be1")),
		must(AddMapVersion("maps/hosts.map", ver, "y.test", "be2")),
	)
	p.mustGet("a.test", 200, "A /") // not committed yet
	p.mustGet("x.test", 404, "")
	p.exec(must(CommitMap("maps/hosts.map", ver)))
	p.mustGet("x.test", 200, "A /")
	p.mustGet("y.test", 200, "B /")
	p.mustGet("a.test", 404, "") // the old entries are gone
	out, err := p.rt.Query(p.ctx(), must(ShowMap("maps/hosts.map")))
	if err != nil {
		t.Fatal(err)
	}
	if !mapHas(out, "x.test", "be1") || !mapHas(out, "y.test", "be2") || strings.Contains(out, "a.test") {
		t.Fatalf("show map after commit:\n%s", out)
	}
	next, err := p.rt.PrepareMap(p.ctx(), "maps/hosts.map")
	if err != nil || next <= ver {
		t.Fatalf("second prepare: %d, %v", next, err)
	}
}

// A new TLS host with no reload: new cert, set, commit, add to the crt-list.
func TestSSLRuntime(t *testing.T) {
	p := startProxy(t)
	if cn := p.servedCN("b.test"); cn != "default.test" {
		t.Fatalf("b.test served %q before, want the default certificate", cn)
	}
	pem := selfSigned(t, "b.test").Combined()
	p.exec(
		must(NewSSLCert("certs/b.pem")),
		must(SetSSLCert("certs/b.pem", pem)),
		must(CommitSSLCert("certs/b.pem")),
		must(AddSSLCrtList("certs/crt-list.txt", "certs/b.pem", []string{"b.test", "*.wild.test"})),
	)
	for _, sni := range []string{"b.test", "x.wild.test"} {
		if cn := p.servedCN(sni); cn != "b.test" {
			t.Errorf("%s served %q, want b.test", sni, cn)
		}
	}
	if cn := p.servedCN("a.test"); cn != "a.test" {
		t.Errorf("a.test served %q", cn)
	}
	if out := p.query("show ssl crt-list certs/crt-list.txt"); !strings.Contains(out, "certs/b.pem b.test *.wild.test") {
		t.Errorf("crt-list:\n%s", out)
	}

	// Replace the content of an existing certificate.
	p.exec(must(SetSSLCert("certs/a.pem", selfSigned(t, "a2.test").Combined())), must(CommitSSLCert("certs/a.pem")))
	if cn := p.servedCN("a.test"); cn != "a2.test" {
		t.Errorf("a.test served %q after the update, want a2.test", cn)
	}
	// A transaction can be abandoned.
	p.exec(must(SetSSLCert("certs/a.pem", selfSigned(t, "a3.test").Combined())), must(AbortSSLCert("certs/a.pem")))
	if cn := p.servedCN("a.test"); cn != "a2.test" {
		t.Errorf("a.test served %q after abort, want a2.test", cn)
	}
	// A certificate whose key does not match fails at commit.
	c1, c2 := selfSigned(t, "c.test"), selfSigned(t, "d.test")
	err := p.rt.Execute(p.ctx(), must(SetSSLCert("certs/b.pem", append(c1.CertPEM, c2.KeyPEM...))), must(CommitSSLCert("certs/b.pem")))
	if err == nil || !strings.Contains(err.Error(), "inconsistencies between private key and certificate") {
		t.Errorf("mismatched key: %v", err)
	}
	p.exec(must(AbortSSLCert("certs/b.pem")))

	// Remove the host again.
	p.exec(must(DelSSLCrtList("certs/crt-list.txt", "certs/b.pem")), must(DelSSLCert("certs/b.pem")))
	if cn := p.servedCN("b.test"); cn != "default.test" {
		t.Errorf("b.test served %q after removal", cn)
	}
}

// After a reload the kept connection still reaches the stopping old worker,
// which answers until it exits: proxy commands get "Proxy is disabled",
// map commands succeed and are lost with it. The Runtime notices and
// reconnects, so commands reach the new worker.
func TestRuntimeFollowsReload(t *testing.T) {
	p := startProxy(t)
	stale := NewRuntime(filepath.Join(p.run, "admin.sock"), p.logger)
	stale.conn.onReuse = nil // control: a client without the check
	defer stale.Close()
	a := backend(t, "A")
	for _, r := range []*Runtime{p.rt, stale} {
		if err := r.Execute(p.ctx(), must(SetServerWeight("be1", "slot4", 2))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	p.exec(append(p.fill("be1", "slot1", a), must(AddMap("maps/hosts.map", "kept.test", "be1")))...)
	if err := stale.Execute(p.ctx(), must(AddMap("maps/hosts.map", "lost.test", "be1"))); err != nil {
		t.Fatalf("control: %v", err)
	}
	err := stale.Execute(p.ctx(), must(SetServerWeight("be1", "slot2", 99)))
	if err == nil || !strings.Contains(err.Error(), "Proxy is disabled") {
		t.Errorf("control: set server on the old worker: %v", err)
	}
	p.mustGet("a.test", 200, "A /")
	p.mustGet("kept.test", 200, "A /")
	p.mustGet("lost.test", 404, "") // the control's command went to the old worker
}

func TestCommandLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	p := startProxy(t)
	const n = 2000
	cmds := make([]Command, n)
	for i := range cmds {
		cmds[i] = must(SetServerWeight("be1", "slot1", i%256))
	}
	start := time.Now()
	p.exec(cmds...)
	batch := time.Since(start) / n
	start = time.Now()
	for i := range 500 {
		p.exec(cmds[i])
	}
	single := time.Since(start) / 500
	t.Logf("per command: %v in one Execute of %d, %v per Execute of one (with the worker check)", batch, n, single)
	if batch > time.Millisecond {
		t.Errorf("%v per command in a batch: the connection is not kept", batch)
	}
}

func queryOut(t *testing.T, p *proxy, cmd Command) string {
	t.Helper()
	out, err := p.rt.Query(p.ctx(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MapValue's get map rides along with the worker check: after a reload
// the stopping old worker answers it too, and the value must come from
// the new worker, which loaded the map from its file.
func TestMapValueFollowsReload(t *testing.T) {
	p := startProxy(t)
	p.exec(must(AddMap("maps/hosts.map", "epoch", "tok1")))
	if v, found, err := p.rt.MapValue(p.ctx(), "maps/hosts.map", "epoch"); err != nil || !found || v != "tok1" {
		t.Fatalf("before the reload: %q %v %v", v, found, err)
	}
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * trustWorkerFor)
	v, found, err := p.rt.MapValue(p.ctx(), "maps/hosts.map", "epoch")
	if err != nil || found {
		t.Errorf("after the reload: %q %v %v, want not found (the old worker's entry)", v, found, err)
	}
}
