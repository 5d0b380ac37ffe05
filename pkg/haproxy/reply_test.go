package haproxy

import (
	"strings"
	"testing"
)

// Replies captured from HAProxy 2.6.12 on the stats socket in prompt mode
// with "set severity-output number" (prompt already removed).
func TestCheckReply(t *testing.T) {
	tests := []struct {
		name string
		kind replyKind
		raw  string
		ok   bool
	}{
		{"addr changed", replyAddr, "[4]: IP changed from '0.0.0.0' to '127.0.0.1', port changed from '1' to '9999' by 'stats socket command'\n", true},
		{"addr same, port changed", replyAddr, "[4]: no need to change the addr, port changed from '9999' to '34463' by 'stats socket command'\n", true},
		{"addr same", replyAddr, "[4]: no need to change the addr by 'stats socket command'\n", true},
		{"invalid addr is a warning too", replyAddr, "[4]: Invalid addr '999.0.0.1' by 'stats socket command'\n", false},
		{"addr family", replyAddr, "[4]: Update to families other than AF_INET and AF_INET6 supported only through configuration file by 'stats socket command'\n", false},
		// 3.0, 3.2 and 3.4 name only what changed.
		{"3.x addr same", replyAddr, "[4]: nothing changed\n", true},
		{"3.x port changed", replyAddr, "[4]: port changed from '29181' to '29182' by 'stats socket command'\n", true},
		{"3.x addr changed", replyAddr, "[4]: IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n", true},
		{"3.x both changed", replyAddr, "[4]: IP changed from '127.0.0.2' to '127.0.0.1', port changed from '29182' to '29181' by 'stats socket command'\n", true},
		{"nothing changed is not an error with more text", replyAddr, "[4]: nothing changed, Invalid addr\n", false},
		{"3.x unknown command", replyEmpty, "[6]: Unknown command: 'add', but maybe one of the following ones is a better match:\n", false},
		{"no such server", replyAddr, "[3]: No such server.\n", false},
		{"no such backend", replyEmpty, "[3]: No such backend.\n", false},
		{"require backend/server", replyEmpty, "[3]: Require 'backend/server'.\n", false},
		{"state ok", replyEmpty, "", true},
		{"state bogus", replyEmpty, "[3]: 'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n", false},
		{"weight range", replyEmpty, "[3]: Absolute weight can only be between 0 and 256 inclusive.\n", false},
		{"weight garbage, one line feed", replyEmpty, "[3]: Empty weight string empty or preceded by garbage", false},
		{"unexpected text on a quiet command", replyEmpty, "something\n", false},
		{"unknown command", replyEmpty, "[6]: Unknown command, but maybe one of the following ones is a better match:\n  add map [@<ver>] <map> <key> <val>\n", false},
		{"unknown command, no severity", replyOutput, "Unknown command, but maybe one of the following ones is a better match:\n", false},
		{"map entry not found", replyEmpty, "[3]: entry not found.\n", false},
		{"unknown map", replyEmpty, "[3]: Unknown map identifier. Please use #<id> or <file>.\n", false},
		{"del map key not found", replyEmpty, "[3]: Key not found.\n", false},
		{"version out of range", replyEmpty, "[3]: Version number out of range.\n", false},
		{"version in the future", replyEmpty, "[3]: Version number in the future, please use 'prepare map' before.\n", false},
		{"prepare map", replyVersion, "[6]: New version created: 2\n", true},
		{"prepare map error", replyVersion, "[3]: Unknown map identifier. Please use #<id> or <file>.\n", false},
		{"new ssl cert", replyNotice, "[5]: New empty certificate store 'certs/b.pem'!\n", true},
		{"new ssl cert exists", replyNotice, "[3]: Certificate 'certs/b.pem' already exists!\n", false},
		{"set ssl cert", replyNotice, "+ + + + + [5]: Transaction created for certificate certs/b.pem!\n", true},
		{"set ssl cert update", replyNotice, "+ + [5]: Transaction updated for certificate certs/b.pem!\n", true},
		{"set ssl cert garbage", replyNotice, "+ + [3]: unable to load certificate from file 'certs/a.pem'.\nCan't load the payload\nCan't update certs/a.pem!\n", false},
		{"set ssl cert unknown", replyNotice, "+ + [3]: Can't replace a certificate which is not referenced by the configuration!\nCan't update certs/x.pem!\n", false},
		{"commit ssl cert", replySuccess, "Committing certs/b.pem\nSuccess!\n", true},
		{"commit ssl cert no transaction", replySuccess, "[3]: No ongoing transaction! !\nCan't commit certs/a.pem!\n", false},
		{"commit ssl cert key mismatch", replySuccess, "[3]: inconsistencies between private key and certificate loaded 'certs/b.pem'.\nCan't commit certs/b.pem!\n", false},
		{"commit ssl cert failed", replySuccess, "Committing certs/b.pem\nFailed!\n", false},
		{"abort ssl cert", replyNotice, "[5]: Transaction aborted for certificate 'certs/a.pem'!\n", true},
		{"abort ssl cert none", replyNotice, "[3]: No ongoing transaction!\n", false},
		{"add crt-list", replySuccess, "+ + Inserting certificate 'certs/b.pem' in crt-list 'certs/crt-list.txt'.\nSuccess!\n", true},
		{"add crt-list no cert", replySuccess, "+ + [3]: Can't edit the crt-list: certificate 'certs/zz.pem' does not exist!\n", false},
		{"add crt-list empty cert", replySuccess, "[3]: Can't edit the crt-list: certificate 'certs/q.pem' is empty!\n", false},
		{"add crt-list no list", replySuccess, "[3]: Can't edit the crt-list: crt-list '/x/crt-list.txt' does not exist!\n", false},
		{"del crt-list", replyNotice, "[5]: Entry 'certs/b.pem' deleted in crtlist 'certs/crt-list.txt'!\n", true},
		{"del crt-list ambiguous", replyNotice, "[3]: Can't delete the entry: found the certificate 'certs/b.pem' in several entries, please specify a line number preceded by colons (2, 3)!\n", false},
		{"del ssl cert in use", replyNotice, "[3]: Can't remove the certificate: certificate 'certs/b.pem' in use, can't be deleted!\n\n", false},
		{"show output", replyOutput, "1\n# be_id be_name\n3 be1\n", true},
		{"show error", replyOutput, "[3]: Can't find backend.\n", false},
		{"show warning", replyOutput, "[4]: something odd\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := checkReply(tt.kind, tt.raw)
			if ok != tt.ok {
				t.Errorf("checkReply(%q) ok = %v, want %v", tt.raw, ok, tt.ok)
			}
		})
	}
}

func TestCheckReplyStripsSeverity(t *testing.T) {
	msg, ok := checkReply(replyVersion, "[6]: New version created: 12\n")
	if !ok || msg != "New version created: 12" {
		t.Errorf("got %q %v", msg, ok)
	}
}

func TestReplyErrorMessage(t *testing.T) {
	err := &ReplyError{Command: "set server be1/x state ready", Reply: "[3]: No such server.\n\nsecond line"}
	want := `haproxy refused "set server be1/x state ready": [3]: No such server. |  | second line`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if long := (&ReplyError{Reply: strings.Repeat("x", 1000)}).Error(); len(long) > 450 {
		t.Errorf("long reply not cut: %d bytes", len(long))
	}
}

// Replies of the 3.4 backend commands, captured from 3.4.7.
func TestCheckBackendReplies(t *testing.T) {
	tests := []struct {
		name    string
		success string
		raw     string
		ok      bool
	}{
		{"add backend", "New backend registered.", "[6]: New backend registered.\n", true},
		{"add backend exists", "New backend registered.", "[3]: Error during backend creation : name is already used by other proxy 'backend n'.\n", false},
		{"add backend on 3.2", "New backend registered.", "[6]: Unknown command: 'add', but maybe one of the following ones is a better match:\n  add acl\n", false},
		{"add server", "New server registered.", "[6]: New server registered.\n", true},
		{"publish", "Backend published.", "[6]: Backend published.\n", true},
		{"unpublish", "Backend unpublished.", "[6]: Backend unpublished.\n", true},
		{"del backend published", "Backend deleted.", "[3]: Backend must be unpublished prior to its deletion.\n", false},
		{"del backend with servers", "Backend deleted.", "[3]: Only a backend without server can be deleted.\n", false},
		{"del backend after queued messages", "Backend deleted.",
			"[6]: Server n/slot1 is going DOWN for maintenance. 0 active and 0 backup servers left.\nbackend 'n' has no server available!\nServer deleted.\nBackend deleted.\n", true},
		{"del server", "Server deleted.", "[6]: Server deleted.\n", true},
		{"del server busy", "Server deleted.", "[3]: Server still has connections attached to it, cannot remove it.\n", false},
		{"a success sentence inside a line", "Backend deleted.", "[6]: not Backend deleted.\n", false},
	}
	for _, tc := range tests {
		_, ok := checkCommandReply(Command{reply: replyMessage, success: tc.success}, tc.raw)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
		}
	}
}
