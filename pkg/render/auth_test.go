package render

import (
	"strings"
	"testing"

	"github.com/bollard-io/bollard/pkg/model"
)

// The renderer refuses, on its own, any userlist, user, hash or realm
// that is not a plain word: the model validated them, this is the second
// lock.
func TestAuthRenderRefusesUnsafeWords(t *testing.T) {
	const hash = "$6$salt$" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	ok := model.Userlist{Name: "auth_ns_users", Secret: "ns/users", Users: []model.User{{Name: "alice", Hash: hash}}}
	var sb strings.Builder
	if err := writeUserlists(&sb, []model.Userlist{ok}); err != nil {
		t.Fatal(err)
	}
	if want := "\nuserlist auth_ns_users\n  # secret ns/users\n  user alice password " + hash + "\n"; sb.String() != want {
		t.Errorf("got %q, want %q", sb.String(), want)
	}
	for _, bad := range []model.Userlist{
		{Name: "auth ns", Users: ok.Users},
		{Name: "auth_ns_users\nbackend x", Users: ok.Users},
		{Name: ok.Name, Users: []model.User{{Name: "al ice", Hash: hash}}},
		{Name: ok.Name, Users: []model.User{{Name: "alice", Hash: "secret"}}},
		{Name: ok.Name, Users: []model.User{{Name: "alice", Hash: hash + " insecure"}}},
		{Name: ok.Name, Users: []model.User{{Name: "alice", Hash: hash + "\nuser x"}}},
		{Name: ok.Name, Users: []model.User{{Name: "alice", Hash: "$apr1$X6x3r/1V$4PRFgbVjXP2xcYsAnq36v1"}}},
	} {
		if err := writeUserlists(&strings.Builder{}, []model.Userlist{bad}); err == nil {
			t.Errorf("%+v rendered", bad)
		}
	}
	rules, err := authRules(&model.BackendOptions{AuthRules: "auth_ns_users|Team (B)\nauth_ns_ops|Authentication Required"})
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %v, %v", rules, err)
	}
	for _, bad := range []string{"auth_ns_users|a\"b", "auth_ns_users|a\\b", "auth_ns_users|$X", "auth_ns_users|%[path]", "auth_ns_users|#", "auth_ns_users|a'b",
		"auth_ns_users|a\nb", "auth ns|R", "auth_ns_users", "auth_ns_users|"} {
		if _, err := authRules(&model.BackendOptions{AuthRules: bad}); err == nil {
			t.Errorf("%q rendered", bad)
		}
	}
}
