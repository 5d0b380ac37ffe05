package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SupervisorOptions configure managed mode, where Bollard runs HAProxy.
type SupervisorOptions struct {
	Binary       string // default "haproxy" from PATH
	ConfigFile   string
	MasterSocket string
	Logger       *slog.Logger
	ExtraArgs    []string
	// SoftStop makes Stop send SIGUSR1 (finish connections, bounded by
	// hard-stop-after) instead of SIGTERM.
	SoftStop bool
}

// Restart backoff after an unexpected exit. A master that ran for
// stableAfter is considered healthy again and the backoff starts over.
const (
	minRestartDelay = 100 * time.Millisecond
	maxRestartDelay = 5 * time.Second
	stableAfter     = 30 * time.Second
	outputLines     = 50 // kept for start errors
)

// proc is one run of the master.
type proc struct {
	cmd        *exec.Cmd
	exited     chan struct{} // closed once the master is reaped
	outputDone chan struct{} // closed once master and workers closed the pipe
}

// Supervisor runs an HAProxy master in the foreground and restarts it when
// it exits unexpectedly.
type Supervisor struct {
	opts    SupervisorOptions
	logger  *slog.Logger
	master  *Master
	started chan struct{}
	done    chan struct{} // closed when the supervising loop ends
	stop    chan struct{} // closed by Stop

	mu       sync.Mutex
	cmd      *exec.Cmd // the running master, nil while down
	up       bool      // cmd answered with a worker (false while it restarts)
	stopping bool
	restarts int
	output   []string // last lines HAProxy printed
}

// StartSupervisor runs "<binary> -W -db -S <socket>,mode,600 -f <config>":
// -W is master-worker mode and -db keeps the master in the foreground, so
// that it stays our child. It returns once the master socket answers and
// lists a worker, or an error with HAProxy's output. ctx bounds the start
// only; Stop ends the supervisor.
func StartSupervisor(ctx context.Context, opts SupervisorOptions) (*Supervisor, error) {
	if opts.Binary == "" {
		opts.Binary = "haproxy"
	}
	if opts.ConfigFile == "" || opts.MasterSocket == "" {
		return nil, errors.New("start haproxy: ConfigFile and MasterSocket are required")
	}
	if strings.ContainsAny(opts.MasterSocket, ", ") {
		return nil, fmt.Errorf("start haproxy: master socket path %q holds a comma or space", opts.MasterSocket)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{
		opts:    opts,
		logger:  logger,
		master:  NewMaster(opts.MasterSocket, logger),
		started: make(chan struct{}, 1),
		done:    make(chan struct{}),
		stop:    make(chan struct{}),
	}
	p, err := s.spawn()
	if err != nil {
		close(s.done)
		return nil, err
	}
	if err := s.waitReady(ctx, p); err != nil {
		s.kill(p)
		close(s.done)
		return nil, fmt.Errorf("start haproxy: %w\n%s", err, s.lastOutput())
	}
	s.mu.Lock()
	s.up = true
	s.mu.Unlock()
	go s.supervise(p)
	return s, nil
}

// spawn starts one master. Its stdout and stderr go to a pipe we read line
// by line; the workers inherit the pipe, so it is not exec's to wait for.
func (s *Supervisor) spawn() (*proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, errors.New("start haproxy: supervisor is stopping")
	}
	args := []string{"-W", "-db", "-S", s.opts.MasterSocket + ",mode,600", "-f", s.opts.ConfigFile}
	cmd := exec.Command(s.opts.Binary, append(args, s.opts.ExtraArgs...)...)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group keeps a terminal's Ctrl-C (sent to our group)
	// from reaching HAProxy behind our back. No Pdeathsig: if the controller
	// crashes, HAProxy keeps serving and the next controller adopts it
	// through the master socket. Stop ends it on a clean shutdown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.output = nil
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	w.Close()
	p := &proc{cmd: cmd, exited: make(chan struct{}), outputDone: make(chan struct{})}
	go s.readOutput(r, p.outputDone)
	s.cmd = cmd
	go func() {
		err := cmd.Wait()
		s.logger.Info("haproxy master exited", "pid", cmd.Process.Pid, "status", exitStatus(err))
		s.mu.Lock()
		if s.cmd == cmd {
			s.cmd, s.up = nil, false
		}
		s.mu.Unlock()
		close(p.exited)
	}()
	s.logger.Info("haproxy master started", "pid", cmd.Process.Pid, "args", cmd.Args)
	return p, nil
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func (s *Supervisor) readOutput(r *os.File, done chan struct{}) {
	defer close(done)
	defer r.Close()
	logOutput(r, s.logger, stopQuiet, func(line string) {
		s.mu.Lock()
		s.output = append(s.output, line)
		if len(s.output) > outputLines {
			s.output = s.output[len(s.output)-outputLines:]
		}
		s.mu.Unlock()
	})
}

func (s *Supervisor) lastOutput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.output, "\n")
}

// waitReady waits until the master answers and lists a worker that answers. Probes
// are cut short when the master exits or Stop is called.
func (s *Supervisor) waitReady(ctx context.Context, p *proc) error {
	exited := p.exited
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
		case <-s.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		probe, cancelProbe := context.WithTimeout(ctx, time.Second)
		procs, err := s.master.Processes(probe)
		// 3.x lists a worker as soon as it is forked, before it has
		// parsed the config and bound its sockets: it must answer too.
		if err == nil {
			if pid := newWorker(procs, nil); pid != 0 && s.master.workerAnswers(probe, pid) {
				cancelProbe()
				return nil
			}
		}
		cancelProbe()
		select {
		case <-exited:
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
			continue
		}
		// ctx is also cancelled by an exit or Stop: name the real cause.
		select {
		case <-exited:
			select { // let the reader catch HAProxy's last words
			case <-p.outputDone:
			case <-time.After(time.Second):
			}
			return errors.New("haproxy exited during start")
		default:
		}
		select {
		case <-s.stop:
			return errors.New("stopped during start")
		default:
		}
		return fmt.Errorf("master socket %s did not answer: %w (last error: %v)", s.opts.MasterSocket, ctx.Err(), err)
	}
}

// supervise restarts the master whenever it exits before Stop.
func (s *Supervisor) supervise(p *proc) {
	defer close(s.done)
	delay := minRestartDelay
	for {
		began := time.Now()
		select {
		case <-p.exited:
		case <-s.stop:
			<-p.exited
			return
		}
		if time.Since(began) > stableAfter {
			delay = minRestartDelay
		}
		s.logger.Error("haproxy master exited unexpectedly; restarting", "in", delay)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, maxRestartDelay)
			var err error
			if p, err = s.restart(); err == nil {
				break
			}
			s.logger.Error("haproxy restart failed", "err", err, "retry_in", delay)
		}
	}
}

// restart spawns a master and waits until it serves, then tells the
// controller through Started.
func (s *Supervisor) restart() (*proc, error) {
	p, err := s.spawn()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultReloadTimeout)
	defer cancel()
	if err := s.waitReady(ctx, p); err != nil {
		s.kill(p)
		return nil, fmt.Errorf("%w\n%s", err, s.lastOutput())
	}
	s.mu.Lock()
	s.restarts++
	s.up = true
	s.mu.Unlock()
	select {
	case s.started <- struct{}{}:
	default: // the controller has a restart pending already
	}
	return p, nil
}

// kill ends a master that failed to start: only the process we started,
// and only while it is not reaped, so its PID cannot have been reused.
func (s *Supervisor) kill(p *proc) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// Started receives each time HAProxy was started again after a crash, so
// the controller re-applies runtime state. It does not fire for the first
// start. Buffered 1: restarts coalesce while the controller is busy.
func (s *Supervisor) Started() <-chan struct{} { return s.started }

// Master returns a client of the supervised master socket.
func (s *Supervisor) Master() *Master { return s.master }

// PID returns the master's PID, or 0 while it is down.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Healthy reports whether the master runs and answers within 2 s: a
// 6000-backend reload keeps the master socket refusing for about 1.3 s.
//
// A restarted master answers before its worker runs, so Healthy stays
// false until the restart has seen the worker.
func (s *Supervisor) Healthy() bool {
	s.mu.Lock()
	up := s.up && s.cmd != nil
	s.mu.Unlock()
	if !up {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.master.Ping(ctx) == nil
}

// Restarts returns how many times HAProxy was restarted after a crash.
func (s *Supervisor) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Stop stops HAProxy: SIGTERM (SIGUSR1 with SoftStop) to the master we
// started, then SIGKILL to it if it has not exited when ctx ends (after a
// minute without a deadline). The master stops its workers; after a
// SIGKILL they exit on their own when they see the master gone.
func (s *Supervisor) Stop(ctx context.Context) error {
	ctx, cancel := withDefault(ctx, time.Minute)
	defer cancel()
	s.mu.Lock()
	already := s.stopping
	s.stopping = true
	cmd := s.cmd
	s.mu.Unlock()
	if !already {
		close(s.stop)
	}
	sig := syscall.SIGTERM
	if s.opts.SoftStop {
		sig = syscall.SIGUSR1
	}
	if cmd != nil {
		if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop haproxy %d: %w", cmd.Process.Pid, err)
		}
	}
	defer s.master.Close()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	if cmd != nil {
		s.logger.Warn("haproxy did not stop in time; killing it", "pid", cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.done
	return fmt.Errorf("stop haproxy: %w (killed)", ctx.Err())
}
