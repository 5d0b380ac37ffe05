package haproxy

import (
	"fmt"
	"regexp"
	"strings"
)

// replyKind says what success looks like for a command. HAProxy 2.6 has no
// status codes, so each reply is checked against the one shape that means
// success (see docs/haproxy-runtime.md); anything else is an error.
type replyKind uint8

const (
	replyEmpty     replyKind = iota // success prints nothing
	replyAddr                       // set server addr: a [4] "IP changed ..." report
	replyNotice                     // success is a [5] notice
	replySuccess                    // success ends in "Success!", with no severity
	replyVersion                    // prepare map: "[6]: New version created: N"
	replyOutput                     // show commands: any text that is not an error
	replyMessage                    // a [6] reply that ends with Command.success
	replyServersAt                  // show servers state: output, then Command.servers checked
)

// ReplyError is HAProxy refusing a command.
type ReplyError struct {
	Command string // Command.String(): a PEM payload is elided
	Reply   string // HAProxy's reply, with its severity prefix
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("haproxy refused %q: %s", e.Command, oneLine(e.Reply))
}

// addrChanged is the report of a successful `set server addr`: HAProxy
// prints it with severity 4 (warning), the same as "Invalid addr". 2.6
// names both parts ("no need to change the addr, port changed from ...");
// 3.x names only what changed, and says "nothing changed" when the server
// already has that address and port.
var addrChanged = regexp.MustCompile(`^(nothing changed|(` +
	`(IP changed from '[^']*' to '[^']*'|no need to change the addr)` +
	`(, (port changed from '\d+' to '\d+'|no need to change the port))?` +
	`|port changed from '\d+' to '\d+') by '[^']*')$`)

// trimEcho drops what prompt mode adds around a reply: one "+ " per payload
// line received, and the trailing line feeds.
func trimEcho(raw string) string {
	for strings.HasPrefix(raw, "+ ") {
		raw = raw[2:]
	}
	return strings.TrimRight(raw, "\n")
}

// splitSeverity splits "[N]: text" (set severity-output number) into N
// and text. It returns -1 when there is no prefix, as for command output.
func splitSeverity(s string) (int, string) {
	if len(s) >= 5 && s[0] == '[' && s[1] >= '0' && s[1] <= '7' && s[2] == ']' && s[3] == ':' && s[4] == ' ' {
		return int(s[1] - '0'), s[5:]
	}
	return -1, s
}

// checkReply returns the reply without its severity prefix, and whether it
// is the success shape for kind. Severities 0-3 (emerg..err) and "Unknown
// command" (severity 6) are always errors.
func checkReply(kind replyKind, raw string) (string, bool) {
	return checkCommandReply(Command{reply: kind}, raw)
}

func checkCommandReply(cmd Command, raw string) (string, bool) {
	kind := cmd.reply
	sev, msg := splitSeverity(trimEcho(raw))
	if strings.HasPrefix(msg, "Unknown command") || (sev >= 0 && sev <= 3) {
		return msg, false
	}
	switch kind {
	case replyEmpty:
		return msg, sev < 0 && msg == ""
	case replyAddr:
		return msg, sev == 4 && addrChanged.MatchString(msg)
	case replyNotice:
		return msg, sev == 5
	case replySuccess:
		return msg, sev < 0 && strings.HasSuffix(msg, "\nSuccess!") && !strings.Contains(msg, "Failed")
	case replyMessage:
		return msg, sev == 6 && messageOK(msg, cmd.success)
	case replyVersion:
		return msg, sev == 6 && strings.HasPrefix(msg, "New version created: ")
	default:
		return msg, sev < 0 || sev >= 5
	}
}

// oneLine fits a reply into a log line or an error message.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(trimEcho(s)), "\n", " | ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}
