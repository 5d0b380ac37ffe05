package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds one command (or one connection attempt) on a
// socket when ctx has no deadline.
const DefaultTimeout = 5 * time.Second

// cliConn is one persistent connection to an HAProxy CLI socket in prompt
// mode, where the socket stays open and each reply ends with a prompt
// (0.05 ms per command against 0.18 ms for a connection per command).
// Its mutex serialises commands: replies carry no request id.
type cliConn struct {
	path string
	// prompt matches the line that ends every reply: "> " on the stats
	// socket, "master> " or "master[ReloadFailed]> " on the master's.
	prompt *regexp.Regexp
	setup  []string // sent on each new connection, after "prompt"
	// idle is how long an unused connection is trusted: HAProxy closes idle
	// CLI sessions after "stats timeout" (10 s by default).
	idle time.Duration
	// onReuse checks a kept connection before use; it may call redial.
	onReuse func(*session) error
	logger  *slog.Logger

	mu       sync.Mutex
	conn     net.Conn
	lastUsed time.Time
	buf      []byte
}

// session is the connection while one caller holds the mutex.
type session struct {
	c     *cliConn
	ctx   context.Context
	fresh bool // dialled during this session
	// rider is a read-only command (its wire) that onReuse may send in
	// the same write as its own check; riderReply is then its reply.
	rider      string
	riderReply *string
}

// errNoReply is a connection closed before any byte of the reply came back:
// HAProxy did not run the command, so sending it again is safe.
var errNoReply = errors.New("connection closed before a reply")

func deadlineOf(ctx context.Context, def time.Duration) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(def)
}

// do runs fn with a connected session. Any transport error closes the
// connection, so the next call dials again.
func (c *cliConn) do(ctx context.Context, fn func(*session) error) error {
	return c.doRiding(ctx, "", fn)
}

// doRiding is do with a read-only command that the reuse check may carry
// (session.rider): fn finds its reply in riderReply, or sends it itself.
func (c *cliConn) doRiding(ctx context.Context, rider string, fn func(*session) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &session{c: c, ctx: ctx, rider: rider}
	if c.conn != nil && time.Since(c.lastUsed) > c.idle {
		c.closeLocked()
	}
	if c.conn == nil {
		if err := s.redial(); err != nil {
			return err
		}
	} else if c.onReuse != nil {
		if err := c.onReuse(s); err != nil {
			c.closeLocked()
			return err
		}
	}
	err := fn(s)
	if c.conn != nil {
		c.lastUsed = time.Now()
	}
	return err
}

// redial replaces the connection: it dials, enters prompt mode and sends
// the setup commands.
func (s *session) redial() error {
	c := s.c
	c.closeLocked()
	d := net.Dialer{Timeout: DefaultTimeout}
	conn, err := d.DialContext(s.ctx, "unix", c.path)
	if err != nil {
		if ce := ctxErr(s.ctx, err); ce != nil {
			return fmt.Errorf("connect to %s: %w (%v)", c.path, ce, err)
		}
		return fmt.Errorf("connect to %s: %w", c.path, err)
	}
	c.conn, s.fresh = conn, true
	if _, err := s.exchange("prompt\n"); err != nil {
		c.closeLocked()
		return fmt.Errorf("enter prompt mode on %s: %w", c.path, err)
	}
	for _, cmd := range c.setup {
		reply, err := s.exchange(cmd + "\n")
		if err != nil {
			c.closeLocked()
			return fmt.Errorf("%s on %s: %w", cmd, c.path, err)
		}
		if msg, ok := checkReply(replyEmpty, reply); !ok {
			c.closeLocked()
			return fmt.Errorf("%s on %s: %w", cmd, c.path, &ReplyError{Command: cmd, Reply: msg})
		}
	}
	c.logger.Debug("connected to haproxy socket", "path", c.path)
	return nil
}

// send writes one command and returns its reply. A kept connection that
// turns out dead before replying is dialled again once.
func (s *session) send(wire string) (string, error) {
	replies, err := s.sendAll(wire, 1)
	if err != nil {
		return "", err
	}
	return replies[0], nil
}

// sendAll is send for n commands in one write (wire holds n lines):
// HAProxy runs them one after the other and answers each, so they cost
// one round trip instead of n. It returns the n replies.
func (s *session) sendAll(wire string, n int) ([]string, error) {
	replies, err := s.exchangeAll(wire, n)
	if errors.Is(err, errNoReply) && !s.fresh {
		s.c.logger.Debug("haproxy socket closed; reconnecting", "path", s.c.path)
		if err := s.redial(); err != nil {
			return nil, err
		}
		replies, err = s.exchangeAll(wire, n)
	}
	if err != nil {
		s.c.closeLocked()
		return nil, err
	}
	return replies, nil
}

// exchange writes wire and reads until the reply ends with the prompt. It
// returns the reply without the prompt and the line feed before it.
func (s *session) exchange(wire string) (string, error) {
	replies, err := s.exchangeAll(wire, 1)
	if err != nil {
		return "", err
	}
	return replies[0], nil
}

// exchangeAll is exchange for the n replies of n pipelined commands. A
// reply ends where a line starts with the prompt, and the next reply
// follows the prompt on that line, so n > 1 is only for commands whose
// replies never hold a line that starts with "> " (server commands,
// show info, get map).
func (s *session) exchangeAll(wire string, n int) ([]string, error) {
	c := s.c
	if c.conn == nil {
		return nil, fmt.Errorf("%s: %w", c.path, errNoReply)
	}
	conn := c.conn
	if err := conn.SetDeadline(deadlineOf(s.ctx, DefaultTimeout)); err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	// A cancelled ctx unblocks the read at once.
	stop := context.AfterFunc(s.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, wire); err != nil {
		switch {
		case ctxErr(s.ctx, err) != nil:
			return nil, fmt.Errorf("write to %s: %w", c.path, ctxErr(s.ctx, err))
		case isClosed(err):
			return nil, fmt.Errorf("write to %s: %w: %w", c.path, errNoReply, err)
		}
		return nil, fmt.Errorf("write to %s: %w", c.path, err)
	}
	// A huge reply (show stat of 10k backends) is not kept around.
	if cap(c.buf) > 1<<20 {
		c.buf = nil
	}
	c.buf = c.buf[:0]
	for {
		if end := c.promptAt(); end >= 0 {
			if n == 1 {
				return []string{string(c.buf[:end])}, nil
			}
			replies := strings.Split(string(c.buf[:end]), "\n> ")
			if len(replies) == n {
				return replies, nil
			}
			if len(replies) > n {
				return nil, fmt.Errorf("read from %s: %d replies to %d pipelined commands", c.path, len(replies), n)
			}
		}
		c.buf = slices.Grow(c.buf, 16*1024)
		got, err := conn.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+got]
		if err != nil {
			switch {
			case ctxErr(s.ctx, err) != nil:
				return nil, fmt.Errorf("read from %s: %w", c.path, ctxErr(s.ctx, err))
			case len(c.buf) == 0 && isClosed(err):
				return nil, fmt.Errorf("read from %s: %w: %w", c.path, errNoReply, err)
			}
			return nil, fmt.Errorf("read from %s after %q: %w", c.path, oneLine(string(c.buf)), err)
		}
	}
}

// promptAt returns where the prompt line starts in the buffer (after the
// reply's last line feed), or -1 while the reply is incomplete.
func (c *cliConn) promptAt() int {
	if !bytes.HasSuffix(c.buf, []byte("> ")) {
		return -1
	}
	start := bytes.LastIndexByte(c.buf, '\n') + 1
	if !c.prompt.Match(c.buf[start:]) {
		return -1
	}
	return max(start-1, 0)
}

// ctxErr returns why ctx ended when err is due to it. Socket deadlines are
// ctx's deadline when it has one, and may fire before ctx reports it.
func ctxErr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	if _, ok := ctx.Deadline(); ok && timeout {
		return context.DeadlineExceeded
	}
	return nil
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isTransient reports errors of a socket that is not there yet or is being
// replaced, as the master's while it re-executes for a reload.
func isTransient(err error) bool {
	return isClosed(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, errNoReply)
}

func (c *cliConn) closeLocked() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

func (c *cliConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", c.path, err)
	}
	return nil
}

// WaitForSocket waits until a Unix socket at path accepts a connection.
func WaitForSocket(ctx context.Context, path string) error {
	delay := 10 * time.Millisecond
	for {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for socket %s: %w (last error: %v)", path, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}
