package haproxy

import (
	"net/netip"
	"reflect"
	"testing"
)

// Captured from HAProxy 2.6.12's master socket.
const (
	showProcFresh = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		"2668            master          0 [failed: 0]   0d00h00m03s     2.6.12-1+deb12u4\n" +
		"# workers\n" +
		"2671            worker          0               0d00h00m03s     2.6.12-1+deb12u4\n" +
		"# programs\n\n"
	showProcOld = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		"2668            master          2 [failed: 0]   0d00h11m42s     2.6.12-1+deb12u4\n" +
		"# workers\n" +
		"18077           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n" +
		"# old workers\n" +
		"17665           worker          1               0d00h00m13s     2.6.12-1+deb12u4\n" +
		"# programs\n\n"
	// After a reload whose config did not load: the current worker counts
	// one more reload but stays under "# workers".
	showProcFailed = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		"2668            master          3 [failed: 1]   0d00h11m43s     2.6.12-1+deb12u4\n" +
		"# workers\n" +
		"18077           worker          1               0d00h00m02s     2.6.12-1+deb12u4\n" +
		"# old workers\n" +
		"17665           worker          2               0d00h00m14s     2.6.12-1+deb12u4\n" +
		"# programs\n\n"
)

func TestParseShowProc(t *testing.T) {
	const v = "2.6.12-1+deb12u4"
	tests := []struct {
		name string
		out  string
		want []Process
	}{
		{"fresh", showProcFresh, []Process{
			{PID: 2668, Role: "master", Uptime: "0d00h00m03s", Version: v},
			{PID: 2671, Role: "worker", Uptime: "0d00h00m03s", Version: v},
		}},
		{"old worker", showProcOld, []Process{
			{PID: 2668, Role: "master", Reloads: 2, Uptime: "0d00h11m42s", Version: v},
			{PID: 18077, Role: "worker", Uptime: "0d00h00m01s", Version: v},
			{PID: 17665, Role: "worker", Reloads: 1, Uptime: "0d00h00m13s", Version: v, Old: true},
		}},
		{"failed reload", showProcFailed, []Process{
			{PID: 2668, Role: "master", Reloads: 3, FailedReloads: 1, Uptime: "0d00h11m43s", Version: v},
			{PID: 18077, Role: "worker", Reloads: 1, Uptime: "0d00h00m02s", Version: v},
			{PID: 17665, Role: "worker", Reloads: 2, Uptime: "0d00h00m14s", Version: v, Old: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseShowProc(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{
		"",
		"Unknown command, but maybe one of the following ones is a better match:\n",
		"#<PID> <type>\n# workers\n2671 worker 0 0d 2.6\n", // no master
		"#<PID> <type>\nabc master 0 [failed: 0] 0d 2.6\n",
		"#<PID> <type>\n1 master x 0d 2.6\n",
		"#<PID> <type>\n1 master 0 [failed: x] 0d 2.6\n",
		"#<PID> <type>\n1 master\n",
	} {
		if got, err := parseShowProc(bad); err == nil {
			t.Errorf("parseShowProc(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestNewWorker(t *testing.T) {
	procs, err := parseShowProc(showProcFailed)
	if err != nil {
		t.Fatal(err)
	}
	if pid := newWorker(procs, map[int]bool{2668: true, 18077: true, 17665: true}); pid != 0 {
		t.Errorf("failed reload: new worker %d", pid)
	}
	if pid := newWorker(procs, map[int]bool{2668: true, 17665: true}); pid != 18077 {
		t.Errorf("new worker = %d, want 18077", pid)
	}
	// An old worker is never the new one.
	if pid := newWorker(procs, map[int]bool{18077: true}); pid != 0 {
		t.Errorf("old worker taken for new: %d", pid)
	}
}

// Captured from `show servers state be1` after set server addr + ready,
// weight 50, then drain on slot1; slots 2-4 as declared "disabled".
const serversState = "1\n" +
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
	"3 be1 1 slot1 127.0.0.1 2 12 50 1 0 1 0 0 8 0 0 0 - 34463 - 0 0 - - 0\n" +
	"3 be1 2 slot2 0.0.0.0 0 5 1 1 10 1 0 0 8 0 0 0 - 1 - 0 0 - - 0\n" +
	"3 be1 3 slot3 fd00::1 2 4 1 1 10 1 0 0 8 0 0 0 - 8080 - 0 0 - - 0\n"

func TestParseServersState(t *testing.T) {
	got, err := parseServersState(serversState)
	if err != nil {
		t.Fatal(err)
	}
	want := []ServerStatus{
		{Backend: "be1", Name: "slot1", Addr: netip.MustParseAddr("127.0.0.1"), Port: 34463, OperState: 2, AdminState: 12, Weight: 50},
		{Backend: "be1", Name: "slot2", Addr: netip.MustParseAddr("0.0.0.0"), Port: 1, OperState: 0, AdminState: 5, Weight: 1},
		{Backend: "be1", Name: "slot3", Addr: netip.MustParseAddr("fd00::1"), Port: 8080, OperState: 2, AdminState: 4, Weight: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	states := []ServerState{got[0].State(), got[1].State(), got[2].State()}
	if !reflect.DeepEqual(states, []ServerState{StateDrain, StateMaint, StateReady}) {
		t.Errorf("states = %v", states)
	}
	if !got[0].Serving() || got[1].Serving() || !got[2].Serving() {
		t.Errorf("Serving: %v %v %v", got[0].Serving(), got[1].Serving(), got[2].Serving())
	}
	if got[0].AddrPort() != netip.MustParseAddrPort("127.0.0.1:34463") {
		t.Errorf("AddrPort = %v", got[0].AddrPort())
	}
	for _, bad := range []string{
		"",
		"[3]: Can't find backend.\n",
		"1\n# be_id be_name\n3 be1\n", // columns missing
		"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_port\n3 be1 1 s 1.2.3.4 2 x 1 80\n",
		"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_port\n3 be1 1 s 1.2.3.4 2 0 1 99999\n",
		"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_port\n3 be1 1 s\n",
	} {
		if got, err := parseServersState(bad); err == nil {
			t.Errorf("parseServersState(%q) = %+v, want an error", bad, got)
		}
	}
}
