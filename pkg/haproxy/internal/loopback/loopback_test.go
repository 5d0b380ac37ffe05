package loopback

import (
	"bufio"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// bindableRange returns the first of n consecutive loopback ports that are
// bindable now, so that a claim fails only because of a lock.
func bindableRange(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		first := firstPort + rand.IntN(numPorts-n)
		ok := true
		for p := first; p < first+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return first
		}
	}
	t.Fatal("no bindable port range")
	return 0
}

func TestClaimsInOneProcessNeverCollide(t *testing.T) {
	c := claimer{dir: t.TempDir(), first: bindableRange(t, 2), n: 2}
	a, err := c.claim()
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.claim()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two claims returned the same port %d", a)
	}
	if p, err := c.claim(); err == nil {
		t.Fatalf("a third claim in a range of two returned %d (claims %d and %d are held)", p, a, b)
	}
}

// TestClaimHeldByChildProcess: a port that another process claimed is not
// handed out while that process lives, and is again once it has exited.
func TestClaimHeldByChildProcess(t *testing.T) {
	dir := t.TempDir()
	first := bindableRange(t, 1)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperClaim$")
	cmd.Env = append(os.Environ(), "LOOPBACK_HELPER_DIR="+dir, "LOOPBACK_HELPER_PORT="+strconv.Itoa(first))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "claimed "+strconv.Itoa(first) {
		stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	c := claimer{dir: dir, first: first, n: 1}
	if p, err := c.claim(); err == nil {
		t.Errorf("claimed port %d that the child holds", p)
	}
	stdin.Close() // the child exits, its lock goes with it
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if p, err := c.claim(); err != nil || p != first {
		t.Fatalf("after the child exited: port %d, %v; want %d", p, err, first)
	}
}

// TestHelperClaim is the child of TestClaimHeldByChildProcess: it claims
// one port, says so, and holds it until its stdin closes.
func TestHelperClaim(t *testing.T) {
	dir := os.Getenv("LOOPBACK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestClaimHeldByChildProcess")
	}
	first, err := strconv.Atoi(os.Getenv("LOOPBACK_HELPER_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := claimer{dir: dir, first: first, n: 1}.claim()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("claimed " + strconv.Itoa(p) + "\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

func TestFreePortTwiceDiffers(t *testing.T) {
	a, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("FreePort returned %d twice", a)
	}
}
