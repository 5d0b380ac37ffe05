package haproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Command is one validated runtime-API command. Only the constructors in
// this file build one, so every argument that reaches a socket has been
// checked and escaped.
type Command struct {
	text    string
	payload []byte // sent after "<<", without the terminating empty line
	secret  bool   // payload holds a private key: String elides it
	reply   replyKind
	success string // replyMessage: the line that ends a successful reply
	// servers are the addresses a replyServersAt command waits for.
	servers map[string]netip.AddrPort
	// swap makes the command a whole-map replacement (ReplaceMap), which
	// Execute expands: text is its `prepare map`.
	swap *mapSwap
	// pipe says whether Execute may send the command in one write with
	// its neighbours (runPipelined).
	pipe pipeKind
}

// pipeKind sorts the server commands Execute may pipeline. Only they are:
// each touches one slot, so one that fails leaves the others right,
// except that a slot must not be made ready before its address is set.
type pipeKind uint8

const (
	pipeNone   pipeKind = iota
	pipeAddr            // set server addr
	pipeServer          // set server weight, state maint or drain
	pipeReady           // set server state ready
)

// String returns the command line as sent, for logs and tests. A PEM
// payload is elided as "<<PEM>>".
func (c Command) String() string {
	switch {
	case c.swap != nil:
		return fmt.Sprintf("replace map %s (%d entries)", c.swap.file, c.swap.entries)
	case c.payload == nil:
		return c.text
	case c.secret:
		return c.text + " << <<PEM>>"
	default:
		return c.text + " << " + strings.TrimSuffix(string(c.payload), "\n")
	}
}

// wire is the exact bytes written to the socket. A payload ends with an
// empty line, which is how HAProxy knows it is complete.
func (c Command) wire() string {
	if c.payload == nil {
		return c.text + "\n"
	}
	return c.text + " <<\n" + string(c.payload) + "\n"
}

// ServerState is an administrative state for `set server ... state`.
type ServerState string

// The states HAProxy 2.6 accepts.
const (
	StateReady ServerState = "ready"
	StateMaint ServerState = "maint"
	StateDrain ServerState = "drain"
)

// payloadPattern ends a command line that is followed by a payload.
const payloadPattern = "<<"

// maxLine keeps a command well inside HAProxy's buffer (tune.bufsize,
// 16 KiB by default); longer lines are cut by HAProxy, not refused.
const maxLine = 8192

var (
	// HAProxy accepts only these in proxy and server names.
	proxyName = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
	// Map, certificate and crt-list references: relative or absolute paths.
	// No space, ';', '\', '#' or quote can appear.
	fileName = regexp.MustCompile(`^[A-Za-z0-9._:/-][A-Za-z0-9._:/@-]*$`)
	// An SNI filter of a crt-list line, optionally negated or wildcarded.
	sniFilter = regexp.MustCompile(`^!?(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// Bytes allowed in a PEM payload: base64, the armour lines and the
	// "Proc-Type: 4,ENCRYPTED" style headers.
	pemByte = regexp.MustCompile(`^[A-Za-z0-9+/=\n :,-]*$`)
)

func checkProxyName(what, s string) error {
	if !proxyName.MatchString(s) || len(s) > 255 {
		return fmt.Errorf("invalid %s name %q: want 1-255 of [A-Za-z0-9._:-]", what, s)
	}
	return nil
}

// checkFile refuses a leading '@': HAProxy would read "@1" as a map version.
func checkFile(what, s string) error {
	if !fileName.MatchString(s) || len(s) > 1024 {
		return fmt.Errorf("invalid %s reference %q: want 1-1024 of [A-Za-z0-9._:/@-], not starting with '@'", what, s)
	}
	return nil
}

// escapeArg validates a free-form argument (a map key or value) and
// escapes it for the CLI. HAProxy splits commands on ';' and arguments on
// spaces and tabs, and turns "\x" into "x", so ';' and '\' are escaped;
// whitespace and control characters are refused because no escaping is
// safe for a line feed, and so is a trailing "<<" (a payload follows).
func escapeArg(what, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty %s", what)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == ' ':
			return "", fmt.Errorf("%s %q contains a space", what, s)
		case b < 0x20 || b == 0x7f:
			return "", fmt.Errorf("%s %q contains control character %#02x", what, s, b)
		}
	}
	// HAProxy 2.6 reads any line that ends in "<<" as the start of a
	// payload and swallows the lines after it; no escape prevents that.
	if strings.HasSuffix(s, payloadPattern) {
		return "", fmt.Errorf("%s %q ends in %q, which HAProxy reads as the start of a payload", what, s, payloadPattern)
	}
	if !strings.ContainsAny(s, `;\`) {
		return s, nil
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ';' || s[i] == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	return sb.String(), nil
}

// mapKey also refuses a leading '#': set/del map read "#<n>" as an entry
// reference, not as a key.
func mapKey(key string) (string, error) {
	if strings.HasPrefix(key, "#") {
		return "", fmt.Errorf("map key %q starts with '#', which HAProxy reads as an entry reference", key)
	}
	return escapeArg("map key", key)
}

func build(reply replyKind, parts ...string) (Command, error) {
	text := strings.Join(parts, " ")
	if len(text) >= maxLine {
		return Command{}, fmt.Errorf("command %.40q... is %d bytes, over the %d limit", text, len(text), maxLine)
	}
	return Command{text: text, reply: reply}, nil
}

func serverRef(backend, server string) (string, error) {
	if err := checkProxyName("backend", backend); err != nil {
		return "", err
	}
	if err := checkProxyName("server", server); err != nil {
		return "", err
	}
	return backend + "/" + server, nil
}

// SetServerAddr builds "set server B/S addr IP port P".
func SetServerAddr(backend, server string, addr netip.Addr, port uint16) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, err
	}
	if !addr.IsValid() {
		return Command{}, errors.New("set server addr: invalid IP address")
	}
	if addr.Zone() != "" {
		return Command{}, fmt.Errorf("set server addr: IPv6 zone in %s is not supported", addr)
	}
	if port == 0 {
		return Command{}, errors.New("set server addr: port 0")
	}
	cmd, err := build(replyAddr, "set server", ref, "addr", addr.Unmap().String(), "port", strconv.Itoa(int(port)))
	cmd.pipe = pipeAddr
	return cmd, err
}

// SetServerState builds "set server B/S state ready|maint|drain".
func SetServerState(backend, server string, state ServerState) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, err
	}
	switch state {
	case StateReady, StateMaint, StateDrain:
	default:
		return Command{}, fmt.Errorf("invalid server state %q", state)
	}
	cmd, err := build(replyEmpty, "set server", ref, "state", string(state))
	cmd.pipe = pipeServer
	if state == StateReady {
		cmd.pipe = pipeReady
	}
	return cmd, err
}

// SetServerWeight builds "set server B/S weight W", W in 0..256.
func SetServerWeight(backend, server string, weight int) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, err
	}
	if weight < 0 || weight > 256 {
		return Command{}, fmt.Errorf("server weight %d out of 0..256", weight)
	}
	cmd, err := build(replyEmpty, "set server", ref, "weight", strconv.Itoa(weight))
	cmd.pipe = pipeServer
	return cmd, err
}

func mapCommand(verb, mapFile string, version int, key, value string) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	parts := []string{verb}
	if version >= 0 {
		parts = append(parts, "@"+strconv.Itoa(version))
	}
	parts = append(parts, mapFile)
	k, err := mapKey(key)
	if err != nil {
		return Command{}, err
	}
	parts = append(parts, k)
	if verb != "del map" {
		v, err := escapeArg("map value", value)
		if err != nil {
			return Command{}, err
		}
		parts = append(parts, v)
	}
	return build(replyEmpty, parts...)
}

// SetMap builds "set map <file> <key> <value>" for an existing key.
func SetMap(mapFile, key, value string) (Command, error) {
	return mapCommand("set map", mapFile, -1, key, value)
}

// AddMap builds "add map <file> <key> <value>". Adding a key that exists
// makes a duplicate (the first one wins): use SetMap for those.
func AddMap(mapFile, key, value string) (Command, error) {
	return mapCommand("add map", mapFile, -1, key, value)
}

// DelMap builds "del map <file> <key>".
func DelMap(mapFile, key string) (Command, error) {
	return mapCommand("del map", mapFile, -1, key, "")
}

// PrepareMap builds "prepare map <file>"; its reply holds the new version
// (see Runtime.PrepareMap).
func PrepareMap(mapFile string) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	return build(replyVersion, "prepare map", mapFile)
}

// AddMapVersion builds "add map @<ver> <file> <key> <value>".
func AddMapVersion(mapFile string, version int, key, value string) (Command, error) {
	if version < 0 {
		return Command{}, fmt.Errorf("negative map version %d", version)
	}
	return mapCommand("add map", mapFile, version, key, value)
}

// CommitMap builds "commit map @<ver> <file>".
func CommitMap(mapFile string, version int) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	if version < 0 {
		return Command{}, fmt.Errorf("negative map version %d", version)
	}
	return build(replyEmpty, "commit map", "@"+strconv.Itoa(version), mapFile)
}

// ShowMap builds "show map <file>" (not part of a transaction).
func ShowMap(mapFile string) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	return build(replyOutput, "show map", mapFile)
}

// ShowServersState builds "show servers state <backend>".
func ShowServersState(backend string) (Command, error) {
	if err := checkProxyName("backend", backend); err != nil {
		return Command{}, err
	}
	return build(replyOutput, "show servers state", backend)
}

// ShowStat builds "show stat": one CSV line per proxy and server.
func ShowStat() Command {
	cmd, _ := build(replyOutput, "show stat") // a fixed text: cannot fail
	return cmd
}
