package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// maxPayload bounds the bytes of one payload command (line, payload and
// the empty line that ends it). HAProxy 2.6 holds the whole command in one
// buffer of tune.bufsize (16 KiB by default, 32 KiB in Bollard's template)
// and closes the connection past it (measured: 16,380 bytes pass, 17,052
// do not; 3.4 takes 40 KB); 12 KiB leaves room under the default.
const maxPayload = 12 << 10

// maxVersionArg is the longest "@<version>" HAProxy can answer (a uint).
const maxVersionArg = len("@4294967295")

// mapSwap is the plan of a ReplaceMap command. Execute runs it as
// `prepare map`, one `add map @N <file> <<` per chunk, `commit map`.
type mapSwap struct {
	file    string
	entries int
	// chunks are validated "key value\n" lines, each chunk small enough
	// for one payload command.
	chunks []string
}

// ReplaceMap builds a command that replaces the whole content of mapFile
// with entries, in their order, atomically: HAProxy fills a new version of
// the map while requests keep using the current one, and the commit
// switches every lookup to the new version at once. Keys and values pass
// the checks of AddMap. In a payload HAProxy takes them as they are (no
// '\' escapes), so they are sent unescaped; a line never is empty (that
// would end the payload) and holds exactly one space.
func ReplaceMap(mapFile string, entries []MapEntry) (Command, error) {
	if err := checkFile("map", mapFile); err != nil {
		return Command{}, err
	}
	sw := &mapSwap{file: mapFile, entries: len(entries)}
	// Room for "add map @N <file> <<\n" and the final empty line.
	room := maxPayload - len("add map  ") - maxVersionArg - len(mapFile) - len(" <<\n") - 1
	var chunk strings.Builder
	for _, e := range entries {
		if _, err := mapKey(e.Key); err != nil {
			return Command{}, fmt.Errorf("replace map %s: %w", mapFile, err)
		}
		if _, err := escapeArg("map value", e.Value); err != nil {
			return Command{}, fmt.Errorf("replace map %s: key %q: %w", mapFile, e.Key, err)
		}
		n := len(e.Key) + 1 + len(e.Value) + 1
		if n > room || n >= maxLine {
			return Command{}, fmt.Errorf("replace map %s: entry %.40q... is %d bytes, over the payload limit", mapFile, e.Key, n)
		}
		if chunk.Len()+n > room {
			sw.chunks = append(sw.chunks, chunk.String())
			chunk.Reset()
		}
		chunk.WriteString(e.Key)
		chunk.WriteByte(' ')
		chunk.WriteString(e.Value)
		chunk.WriteByte('\n')
	}
	if chunk.Len() > 0 {
		sw.chunks = append(sw.chunks, chunk.String())
	}
	cmd, err := build(replyVersion, "prepare map", mapFile)
	if err != nil {
		return Command{}, err
	}
	cmd.swap = sw
	return cmd, nil
}

// MapSwap returns the map file and the entries a ReplaceMap command
// installs, for tests and logs; ok is false for any other command.
func (c Command) MapSwap() (mapFile string, entries []MapEntry, ok bool) {
	if c.swap == nil {
		return "", nil, false
	}
	entries = make([]MapEntry, 0, c.swap.entries)
	for _, chunk := range c.swap.chunks {
		for _, line := range strings.Split(strings.TrimSuffix(chunk, "\n"), "\n") {
			k, v, _ := strings.Cut(line, " ")
			entries = append(entries, MapEntry{Key: k, Value: v})
		}
	}
	return c.swap.file, entries, true
}

// steps are the commands of a swap once prepare answered version ver.
func (sw *mapSwap) steps(ver int) []Command {
	v := "@" + strconv.Itoa(ver)
	out := make([]Command, 0, len(sw.chunks)+1)
	for _, chunk := range sw.chunks {
		out = append(out, Command{text: "add map " + v + " " + sw.file, payload: []byte(chunk), reply: replyEmpty})
	}
	return append(out, Command{text: "commit map " + v + " " + sw.file, reply: replyEmpty})
}

// mapVersion reads the version out of the reply to `prepare map`.
func mapVersion(msg string) (int, error) {
	s, ok := strings.CutPrefix(msg, "New version created: ")
	if !ok {
		return 0, fmt.Errorf("no version in %q", msg)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("version in %q: %w", msg, err)
	}
	return int(v), nil
}

// swapMap runs a ReplaceMap command on s. A swap that fails before its
// commit leaves the current version serving; the entries of the prepared
// version stay in HAProxy's memory until the next commit of that map
// purges every older version.
func swapMap(s *session, cmd Command) error {
	sw := cmd.swap
	fail := func(step string, err error) error {
		return fmt.Errorf("replace map %s (%d entries): %s: %w", sw.file, sw.entries, step, err)
	}
	reply, err := s.send(cmd.wire())
	if err != nil {
		return fail(cmd.text, err)
	}
	msg, ok := checkCommandReply(cmd, reply)
	if !ok {
		return fail(cmd.text, &ReplyError{Command: cmd.text, Reply: trimEcho(reply)})
	}
	ver, err := mapVersion(msg)
	if err != nil {
		return fail(cmd.text, err)
	}
	for _, step := range sw.steps(ver) {
		what := step.text
		if step.payload != nil {
			first, _, _ := strings.Cut(string(step.payload), " ")
			what = fmt.Sprintf("%s << (%d entries from %q)", step.text, strings.Count(string(step.payload), "\n"), first)
		}
		reply, err := s.send(step.wire())
		if err != nil {
			return fail(what, err)
		}
		if _, ok := checkCommandReply(step, reply); !ok {
			return fail(what, &ReplyError{Command: what, Reply: trimEcho(reply)})
		}
	}
	return nil
}
