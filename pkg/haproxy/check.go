// Package haproxy is the edge to the HAProxy process: it writes the config
// directory, validates configs with `haproxy -c`, and (in the controller)
// talks to the master and stats sockets.
package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// CheckError carries HAProxy's own explanation of a rejected config.
type CheckError struct {
	Output string
	Err    error
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("haproxy -c rejected the config: %v\n%s", e.Err, strings.TrimSpace(e.Output))
}

func (e *CheckError) Unwrap() error { return e.Err }

// Check runs `haproxy -c -f configFile`. It returns a *CheckError with
// HAProxy's messages when the config is invalid.
func Check(ctx context.Context, binary, configFile string) error {
	cmd := exec.CommandContext(ctx, binary, "-c", "-f", configFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		// Only an exit with a status is HAProxy refusing the config: a
		// timeout or a kill (the OOM killer at 10k backends) says nothing
		// about the config, and must not get an object blamed.
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Exited() && ctx.Err() == nil {
			return &CheckError{Output: out.String(), Err: err}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("run %s -c: %w: %w", binary, ctx.Err(), err)
		}
		return fmt.Errorf("run %s -c: %w", binary, err)
	}
	return nil
}
