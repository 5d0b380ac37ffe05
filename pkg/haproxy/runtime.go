package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Runtime is a client of the stats socket (admin.sock, "level admin").
// It keeps one prompt-mode connection with "set severity-output number",
// so that every message carries its severity.
type Runtime struct {
	conn   *cliConn
	logger *slog.Logger
	// workerSeen is when show info last found the connection's worker
	// live (guarded by conn's mutex).
	workerSeen time.Time
}

// trustWorkerFor is how long a connection's worker, once seen live, is
// not asked again: the controller reads its epoch marker and sends the
// pass's commands right after, in two calls, and the second check cost
// a round trip per pass. A reload between the two is as likely as one
// between a check and the commands it guards.
const trustWorkerFor = 50 * time.Millisecond

// NewRuntime returns a client of the stats socket at socketPath. It
// connects on first use.
func NewRuntime(socketPath string, logger *slog.Logger) *Runtime {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Runtime{logger: logger}
	r.conn = &cliConn{
		path:    socketPath,
		prompt:  regexp.MustCompile(`^> $`),
		setup:   []string{"set severity-output number"},
		idle:    5 * time.Second,
		onReuse: r.checkWorker,
		logger:  logger,
	}
	return r
}

// checkWorker makes sure a kept connection still reaches a live worker.
// After a reload the old worker keeps its CLI sessions open and answers
// them ("Stopping: 1" in show info) until it exits, so commands sent there
// would be lost with it.
//
// A session's rider goes in the same write as show info: a stopping
// worker answers it too, which is harmless for a read, and the session
// then dials the live one and sends the rider again.
func (r *Runtime) checkWorker(s *session) error {
	if time.Since(r.workerSeen) < trustWorkerFor {
		return nil
	}
	wire, n := "show info\n", 1
	if s.rider != "" {
		wire, n = wire+s.rider, 2
	}
	replies, err := s.sendAll(wire, n)
	if err != nil {
		return fmt.Errorf("check worker: %w", err)
	}
	info := replies[0]
	if !strings.Contains(info, "\nStopping: 1\n") {
		r.workerSeen = time.Now()
		if n == 2 {
			s.riderReply = &replies[1]
		}
		return nil
	}
	r.logger.Info("stats socket reached a stopping worker; reconnecting", "path", r.conn.path, "worker", infoField(info, "Pid"))
	if err := s.redial(); err != nil {
		return fmt.Errorf("reconnect after a reload: %w", err)
	}
	return nil
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}

// Execute sends the commands in order and stops at the first failure. The
// error names the command and HAProxy's reply (a *ReplyError when HAProxy
// refused it). Runs of server commands go in one write (runPipelined):
// within a run, those after a failed one have run too.
func (r *Runtime) Execute(ctx context.Context, cmds ...Command) error {
	if len(cmds) == 0 {
		return nil
	}
	start := time.Now()
	err := r.conn.do(ctx, func(s *session) error {
		for i := 0; i < len(cmds); {
			cmd := cmds[i]
			if cmd.text == "" {
				return fmt.Errorf("runtime command %d/%d: empty command (build commands with the constructors)", i+1, len(cmds))
			}
			if cmd.swap != nil {
				if err := swapMap(s, cmd); err != nil {
					return fmt.Errorf("runtime command %d/%d: %w", i+1, len(cmds), err)
				}
				i++
				continue
			}
			if end := pipelineEnd(cmds, i); end > i+1 {
				if err := runPipelined(s, cmds, i, end); err != nil {
					return err
				}
				i = end
				continue
			}
			reply, err := s.send(cmd.wire())
			if err != nil {
				return fmt.Errorf("runtime command %d/%d %q: %w", i+1, len(cmds), cmd, err)
			}
			msg, ok := checkCommandReply(cmd, reply)
			if !ok {
				return fmt.Errorf("runtime command %d/%d: %w", i+1, len(cmds), &ReplyError{Command: cmd.String(), Reply: trimEcho(reply)})
			}
			if cmd.reply == replyServersAt {
				if err := r.awaitServers(s, cmd, msg); err != nil {
					return fmt.Errorf("runtime command %d/%d: %w", i+1, len(cmds), err)
				}
			}
			i++
		}
		return nil
	})
	r.logger.Debug("runtime commands", "count", len(cmds), "first", cmds[0].String(), "took", time.Since(start), "err", err)
	return err
}

// pipelineEnd returns where the run of pipelined commands that starts at
// cmds[start] ends: server commands, up to a ready that would follow a set
// addr of the run (the address is awaited first: fillSlots).
func pipelineEnd(cmds []Command, start int) int {
	addr := false
	end := start
	for ; end < len(cmds); end++ {
		c := cmds[end]
		if c.pipe == pipeNone || c.swap != nil || c.text == "" || (c.pipe == pipeReady && addr) {
			break
		}
		addr = addr || c.pipe == pipeAddr
	}
	return max(end, start+1) // a command that is no server command goes alone
}

// runPipelined sends cmds[start:end] in one write, which saves a round
// trip per command (HAProxy's CLI answers one command at a time). All of
// them run: the error names the first that failed, and those after it
// took effect too.
func runPipelined(s *session, cmds []Command, start, end int) error {
	var wire strings.Builder
	for _, cmd := range cmds[start:end] {
		wire.WriteString(cmd.wire())
	}
	replies, err := s.sendAll(wire.String(), end-start)
	if err != nil {
		return fmt.Errorf("runtime commands %d-%d/%d %q...: %w", start+1, end, len(cmds), cmds[start], err)
	}
	for k, reply := range replies {
		cmd := cmds[start+k]
		if _, ok := checkCommandReply(cmd, reply); !ok {
			return fmt.Errorf("runtime command %d/%d: %w", start+k+1, len(cmds), &ReplyError{Command: cmd.String(), Reply: trimEcho(reply)})
		}
	}
	return nil
}

// awaitServers re-reads a barrier's servers until they show the wanted
// addresses.
func (r *Runtime) awaitServers(s *session, cmd Command, msg string) error {
	for range barrierRetries {
		done, err := serversAt(msg, cmd.servers)
		if err != nil {
			return fmt.Errorf("%q: %w", cmd, err)
		}
		if done {
			return nil
		}
		reply, err := s.send(cmd.wire())
		if err != nil {
			return fmt.Errorf("%q: %w", cmd, err)
		}
		var ok bool
		if msg, ok = checkCommandReply(cmd, reply); !ok {
			return &ReplyError{Command: cmd.String(), Reply: trimEcho(reply)}
		}
	}
	return fmt.Errorf("%q: addresses not applied after %d reads", cmd, barrierRetries)
}

// Query sends one command and returns its reply, without the severity
// prefix of a message.
func (r *Runtime) Query(ctx context.Context, cmd Command) (string, error) {
	return r.query(ctx, cmd, false)
}

// query is Query; a read-only cmd may ride along with the worker check
// (checkWorker), which saves a round trip.
func (r *Runtime) query(ctx context.Context, cmd Command, readOnly bool) (string, error) {
	if cmd.text == "" {
		return "", errors.New("runtime query: empty command (build commands with the constructors)")
	}
	if cmd.swap != nil {
		return "", fmt.Errorf("runtime query: %s is a batch: run it with Execute", cmd)
	}
	var out string
	rider := ""
	if readOnly && cmd.payload == nil {
		rider = cmd.wire()
	}
	err := r.conn.doRiding(ctx, rider, func(s *session) error {
		var reply string
		var err error
		if s.riderReply != nil {
			reply = *s.riderReply
		} else {
			reply, err = s.send(cmd.wire())
		}
		if err != nil {
			return fmt.Errorf("runtime command %q: %w", cmd, err)
		}
		msg, ok := checkCommandReply(cmd, reply)
		if !ok {
			return &ReplyError{Command: cmd.String(), Reply: trimEcho(reply)}
		}
		out = msg
		return nil
	})
	return out, err
}

// PrepareMap runs "prepare map <file>" and returns the new version, for
// AddMapVersion and CommitMap.
func (r *Runtime) PrepareMap(ctx context.Context, mapFile string) (int, error) {
	cmd, err := PrepareMap(mapFile)
	if err != nil {
		return 0, err
	}
	msg, err := r.Query(ctx, cmd)
	if err != nil {
		return 0, err
	}
	v, err := mapVersion(msg)
	if err != nil {
		return 0, fmt.Errorf("prepare map %s: %w", mapFile, err)
	}
	return v, nil
}

// ServersState returns the servers of backend as `show servers state`
// reports them.
func (r *Runtime) ServersState(ctx context.Context, backend string) ([]ServerStatus, error) {
	cmd, err := ShowServersState(backend)
	if err != nil {
		return nil, err
	}
	out, err := r.Query(ctx, cmd)
	if err != nil {
		return nil, err
	}
	states, err := parseServersState(out)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", backend, err)
	}
	return states, nil
}

// Reset drops the connection, so the next command dials the socket again
// and reaches the current worker.
func (r *Runtime) Reset() error { return r.conn.close() }

// Close closes the connection. The Runtime stays usable: the next command
// connects again.
func (r *Runtime) Close() error { return r.conn.close() }
