package haproxy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Commands that create and delete backends at run time (HAProxy 3.4+,
// Features.RuntimeBackends). Their replies end in a fixed sentence with
// severity 6; `del backend` may print queued server messages before it.

// AddBackend builds "add backend NAME from DEFAULTS mode http". The new
// backend takes every setting of the named defaults section, and is not
// used by traffic until PublishBackend.
func AddBackend(name, defaults string) (Command, error) {
	if err := checkProxyName("backend", name); err != nil {
		return Command{}, err
	}
	if err := checkProxyName("defaults", defaults); err != nil {
		return Command{}, err
	}
	return expect("New backend registered.", "add backend", name, "from", defaults, "mode http")
}

// AddServer builds "add server B/S ADDR:PORT [weight 0]". HAProxy creates
// it in maintenance: SetServerState ready enables it.
func AddServer(backend, server string, addr netip.Addr, port uint16, draining bool) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, err
	}
	if !addr.IsValid() {
		return Command{}, fmt.Errorf("server %s: invalid address", ref)
	}
	a := addr.Unmap().String() + ":" + strconv.Itoa(int(port))
	if addr.Unmap().Is6() {
		a = "[" + addr.String() + "]:" + strconv.Itoa(int(port))
	}
	parts := []string{"add server", ref, a}
	if draining {
		parts = append(parts, "weight 0")
	}
	return expect("New server registered.", parts...)
}

// DelServer builds "del server B/S"; HAProxy deletes only a server in
// maintenance without connections.
func DelServer(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, err
	}
	return expect("Server deleted.", "del server", ref)
}

// PublishBackend builds "publish backend NAME": use_backend rules may
// select it from now on.
func PublishBackend(name string) (Command, error) {
	return backendCommand("publish backend", name, "Backend published.")
}

// UnpublishBackend builds "unpublish backend NAME".
func UnpublishBackend(name string) (Command, error) {
	return backendCommand("unpublish backend", name, "Backend unpublished.")
}

// DelBackend builds "del backend NAME"; HAProxy deletes only an
// unpublished backend without servers.
func DelBackend(name string) (Command, error) {
	return backendCommand("del backend", name, "Backend deleted.")
}

func backendCommand(verb, name, success string) (Command, error) {
	if err := checkProxyName("backend", name); err != nil {
		return Command{}, err
	}
	return expect(success, verb, name)
}

func expect(success string, parts ...string) (Command, error) {
	cmd, err := build(replyMessage, parts...)
	cmd.success = success
	return cmd, err
}

// messageOK reports whether msg (severity removed) ends with the line
// success.
func messageOK(msg, success string) bool {
	msg = strings.TrimRight(msg, "\n")
	return msg == success || strings.HasSuffix(msg, "\n"+success)
}

// Backends lists the backends of the running HAProxy (`show backend`).
func (r *Runtime) Backends(ctx context.Context) ([]string, error) {
	cmd, err := build(replyOutput, "show backend")
	if err != nil {
		return nil, err
	}
	out, err := r.Query(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names, nil
}
