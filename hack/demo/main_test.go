package main

import "testing"

func TestParseShowProc(t *testing.T) {
	out := `#<PID>          <type>          <reloads>       <uptime>        <version>
29123           master          3 [failed: 0]   0d00h00m03s     2.6.12-1+deb12u4
# workers
29244           worker          0               0d00h00m01s     2.6.12-1+deb12u4
# programs

`
	pid, reloads, err := parseShowProc(out)
	if err != nil || pid != 29123 || reloads != 3 {
		t.Errorf("got pid %d reloads %d err %v", pid, reloads, err)
	}
	if _, _, err := parseShowProc("Unknown command.\n"); err == nil {
		t.Errorf("a reply without a master line must be an error")
	}
}

func TestSumCounter(t *testing.T) {
	text := `# HELP bollard_reloads_total HAProxy reloads by cause and result.
# TYPE bollard_reloads_total counter
bollard_reloads_total{cause="startup",result="success"} 1
bollard_reloads_total{cause="structure",result="success"} 2
bollard_reloads_total_other 7
bollard_runtime_updates_total{kind="endpoint",result="success"} 12
`
	if got := sumCounter(text, "bollard_reloads_total"); got != 3 {
		t.Errorf("sum %d, want 3", got)
	}
	if got := sumCounter("", "bollard_reloads_total"); got != 0 {
		t.Errorf("no samples: %d", got)
	}
}
