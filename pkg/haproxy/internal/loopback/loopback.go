// Package loopback picks loopback TCP ports for tests.
package loopback

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Ports are drawn below Linux's ephemeral range (32768-60999 by default):
// a port that the kernel hands out for `:0` can be taken by any outgoing
// connection before the test binds it.
const (
	firstPort = 20000
	numPorts  = 12000
)

// FreePort returns a loopback TCP port that is bindable now and that no
// other caller of FreePort, in this process or any other on the machine,
// gets while this process lives. Probing alone is not enough: `go test
// ./...` runs test binaries side by side, two of them could probe the
// same port, and HAProxy binds with SO_REUSEPORT, so the second HAProxy
// does not fail but shares the port (seen as "server gave HTTP response to
// HTTPS client"). The claim is an flock on a file per port under
// os.TempDir(), held until the process exits.
func FreePort() (int, error) {
	return claimer{dir: filepath.Join(os.TempDir(), "bollard-ports"), first: firstPort, n: numPorts}.claim()
}

// claimer claims ports first..first+n-1 with lock files in dir.
type claimer struct {
	dir      string
	first, n int
}

func (c claimer) claim() (int, error) {
	if err := os.MkdirAll(c.dir, 0o777); err != nil {
		return 0, fmt.Errorf("port lock directory: %w", err)
	}
	start := rand.IntN(c.n)
	for i := range c.n {
		port := c.first + (start+i)%c.n
		ok, err := c.tryClaim(port)
		if err != nil {
			return 0, err
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d", c.first, c.first+c.n-1)
}

// tryClaim locks port's file and checks that the port is bindable. On
// success the lock's descriptor is deliberately never closed (a raw fd has
// no finalizer): the kernel releases it when the process exits. flock locks
// belong to the open file description, so a second claim in the same
// process conflicts with the first just as another process's would.
func (c claimer) tryClaim(port int) (bool, error) {
	path := filepath.Join(c.dir, strconv.Itoa(port)+".lock")
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o666)
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return false, nil // another user's lock file: leave the port to them
		}
		return false, fmt.Errorf("port lock %s: %w", path, err)
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		syscall.Close(fd)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		syscall.Close(fd) // in use outside our claims
		return false, nil
	}
	l.Close()
	return true, nil
}
