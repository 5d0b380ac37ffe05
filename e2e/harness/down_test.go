package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// secondSubnet is the subnet of the concurrent cluster that this test starts and stops.
const secondSubnet = "198.18.3.0/24"

func TestUpRefusesBadSubnets(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	dir := t.TempDir()
	for subnet, want := range map[string]string{
		cluster.Subnet.String(): "overlaps the route",
		"10.20.0.0/24":          "outside 198.18.0.0/15",
	} {
		cmd := exec.CommandContext(ctx, filepath.Join(cluster.BinDir, "testcluster"), "up", "--state", dir, "--subnet", subnet)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("up with subnet %s succeeded; want a refusal", subnet)
			continue
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("up with subnet %s: want %q in the message, got:\n%s", subnet, want, out)
		}
	}
}

func TestSecondClusterRunsAlongsideAndDownLeavesNothing(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	start := time.Now()
	c2, err := framework.StartNew(ctx, slog.Default(), framework.Options{Subnet: secondSubnet})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c2.Stop(ctx, false)
		}
	})
	t.Logf("second cluster up in %s", time.Since(start).Round(time.Millisecond))

	// No CreateNamespace: its cleanup would run after this cluster is gone.
	nsObj, err := c2.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "second-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns := nsObj.Name
	if err := c2.CreateEcho(ctx, ns, "web", 1, echoPort); err != nil {
		t.Fatal(err)
	}
	eps, err := c2.ReadyEndpoints(ctx, ns, "web", 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Subnet.Contains(eps[0].Addr) {
		t.Errorf("second cluster endpoint %s outside %s", eps[0].Addr, c2.Subnet)
	}
	e, err := framework.GetEcho(ctx, framework.Request{Addr: addr(eps[0].Addr)})
	if err != nil {
		t.Fatal(err)
	}
	if e.Namespace != ns {
		t.Errorf("second cluster pod answered namespace %q, want %q", e.Namespace, ns)
	}
	// The first cluster still serves.
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Errorf("first cluster stopped answering: %v", err)
	}

	var st struct {
		Processes []struct {
			Name string `json:"name"`
			PID  int    `json:"pid"`
		} `json:"processes"`
	}
	b, err := os.ReadFile(filepath.Join(c2.StateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Processes) != 4 {
		t.Fatalf("state records %d processes, want 4: %s", len(st.Processes), b)
	}
	backend, err := backendPID(e.Pod)
	if err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	if err := c2.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	stopped = true
	defer func() { _ = os.RemoveAll(c2.StateDir) }()
	t.Logf("second cluster down in %s", time.Since(start).Round(time.Millisecond))
	for _, p := range st.Processes {
		if alive(p.PID) {
			t.Errorf("%s (pid %d) still runs after down", p.Name, p.PID)
		}
	}
	if alive(backend) {
		t.Errorf("echo backend (pid %d) still runs after down", backend)
	}
	if _, err := os.Stat("/run/netns/" + c2.Netns); err == nil {
		t.Errorf("network namespace %s left behind", c2.Netns)
	}
	if _, err := os.Stat("/sys/class/net/" + c2.Veth); err == nil {
		t.Errorf("veth %s left behind", c2.Veth)
	}
	if _, err := os.Stat(filepath.Join(c2.StateDir, "state.json")); err == nil {
		t.Errorf("state.json left behind")
	}
	// down is idempotent.
	out, err := exec.CommandContext(ctx, filepath.Join(cluster.BinDir, "testcluster"), "down", "--state", c2.StateDir).CombinedOutput()
	if err != nil {
		t.Errorf("second down failed: %v\n%s", err, out)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
