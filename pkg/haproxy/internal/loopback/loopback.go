// Package loopback picks loopback TCP ports for tests.
package loopback

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// FreePort returns a loopback TCP port that was free a moment ago. It is
// drawn below Linux's ephemeral range (32768-60999 by default): a port
// that the kernel hands out for `:0` can be taken by any outgoing
// connection before the test binds it (seen as "Address already in use"
// from HAProxy in the e2e suites and in pkg/haproxy's tests).
func FreePort() (int, error) {
	for range 200 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port in 20000-31999 after 200 tries")
}
