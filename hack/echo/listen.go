package main

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// sniffTimeout bounds how long a new connection may stay silent before its first byte.
const sniffTimeout = 10 * time.Second

// tlsRecordHandshake is the first byte of a TLS ClientHello record.
const tlsRecordHandshake = 0x16

// sniffListener reads the first byte of every accepted connection: 0x16 starts a TLS
// handshake (when a tls.Config is set) and the connection is handed out as a *tls.Conn,
// which http.Server serves with ALPN (h2 or http/1.1); anything else is handed out as
// it came, for HTTP/1.1 or HTTP/2 with prior knowledge. Sniffing runs per connection,
// so a silent client never holds up Accept.
type sniffListener struct {
	inner net.Listener
	tls   *tls.Config // nil: no TLS, every connection is plaintext
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
}

func newSniffListener(inner net.Listener, tlsConfig *tls.Config) *sniffListener {
	l := &sniffListener{
		inner: inner, tls: tlsConfig,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go l.sniff(c)
	}
}

func (l *sniffListener) sniff(c net.Conn) {
	var first [1]byte
	if err := c.SetReadDeadline(time.Now().Add(sniffTimeout)); err != nil {
		_ = c.Close()
		return
	}
	if _, err := io.ReadFull(c, first[:]); err != nil {
		_ = c.Close() // closed or silent before its first byte: nothing to serve
		return
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		_ = c.Close()
		return
	}
	var out net.Conn = &prefixConn{Conn: c, prefix: first[:]}
	if first[0] == tlsRecordHandshake && l.tls != nil {
		out = tls.Server(out, l.tls)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next sniffed connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections still being sniffed are closed.
func (l *sniffListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// prefixConn replays the sniffed bytes before reading on from the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
