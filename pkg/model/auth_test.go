package model_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

func authIngress(name, secret, realm, host string) *networkingv1.Ingress {
	opts := []mt.IngressOption{mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", secret)}
	if realm != "" {
		opts = append(opts, mt.Annotation("bollard.io/auth-realm", realm))
	}
	return mt.Ingress("ns", name, append(opts, mt.Rule(host, mt.Path("Prefix", "/", "svc", 80)))...)
}

func buildAuth(t *testing.T, ings []*networkingv1.Ingress, secrets ...*corev1.Secret) (model.Config, []model.Rejection) {
	t.Helper()
	return model.Build(model.Snapshot{Ingresses: ings, Services: []*corev1.Service{mt.Service("ns", "svc", mt.ServicePort("", 80))}, AuthSecrets: secrets}, options())
}

// TestAuthHashes: the supported hashes within the limits pass; every other
// line leaves the Ingress out with a reason naming the line, never the hash.
func TestAuthHashes(t *testing.T) {
	sha := func(prefix string, n int) string { return prefix + "saltsalt$" + strings.Repeat("a", n) }
	valid := []string{mt.HashSHA512, mt.HashSHA256, mt.HashBcrypt, "$2a$10$" + strings.Repeat("b", 53), "$2b$04$" + strings.Repeat("c", 53),
		"$6$rounds=20000$salt$" + strings.Repeat("d", 86), "$5$rounds=1000$s$" + strings.Repeat("e", 43), sha("$6$", 86)}
	for _, h := range valid {
		cfg, rej := buildAuth(t, []*networkingv1.Ingress{authIngress("i", "users", "", "h.example")}, mt.AuthSecret("ns", "users", "u:"+h+"\n"))
		if len(rej) != 0 || len(cfg.Userlists) != 1 || cfg.Userlists[0].Users[0].Hash != h {
			t.Errorf("%s: userlists %v, rejections %v", h, cfg.Userlists, rej)
		}
	}
	invalid := map[string]string{
		mt.HashAPR1:                                                     "MD5",
		"$1$eDQGSvqt$MUwp0fjdpLFbPvS02Wdqn1":                            "MD5",
		"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=":                             "{SHA}",
		"abJnggxhB/yWI":                                                 "DES",
		"secret":                                                        "plain text",
		"$2y$11$" + strings.Repeat("b", 53):                             "bcrypt cost 11",
		"$2y$03$" + strings.Repeat("b", 53):                             "bcrypt cost 3",
		"$2y$10$" + strings.Repeat("b", 52):                             "malformed",
		"$2x$10$" + strings.Repeat("b", 53):                             "not supported",
		"$6$rounds=20001$s$" + strings.Repeat("d", 86):                  "rounds=20001",
		"$6$rounds=999$s$" + strings.Repeat("d", 86):                    "rounds=999",
		"$6$rounds=05000$s$" + strings.Repeat("d", 86):                  "malformed",
		sha("$6$", 85):                                                  "malformed",
		sha("$5$", 86):                                                  "malformed",
		"$6$$" + strings.Repeat("d", 86):                                "malformed",
		"$6$salt salt$" + strings.Repeat("d", 86):                       "malformed",
		"$6$salt$" + strings.Repeat("d", 85) + "\"":                     "malformed",
		"$6$salt$" + strings.Repeat("d", 85) + "#":                      "malformed",
		"$6$" + strings.Repeat("s", 17) + "$" + strings.Repeat("d", 86): "malformed",
	}
	for h, want := range invalid {
		_, rej := buildAuth(t, []*networkingv1.Ingress{authIngress("i", "users", "", "h.example")}, mt.AuthSecret("ns", "users", "ok:"+mt.HashSHA256+"\n\nbob:"+h+"\n"))
		if len(rej) != 1 || rej[0].Field != annotationField("auth-secret") || rej[0].Warning {
			t.Fatalf("%s: rejections %v", h, rej)
		}
		r := rej[0].Reason
		if !strings.Contains(r, "secret ns/users") || !strings.Contains(r, `line 3 (user "bob")`) || !strings.Contains(r, want) {
			t.Errorf("%s: reason %q, want the Secret, line 3, user bob and %q", h, r, want)
		}
		if len(h) > 6 && strings.Contains(r, h) {
			t.Errorf("the reason echoes the hash: %q", r)
		}
	}
}

func TestAuthSecretLines(t *testing.T) {
	for data, want := range map[string]string{
		"":                        "lists no user",
		"alice" + mt.HashSHA512:   "line 1 is not of the form user:hash",
		"al ice:" + mt.HashSHA512: "line 1: the user name",
		"a:b:" + mt.HashSHA512:    `line 1 (user "a")`,
		"\u00e9:" + mt.HashSHA512: "line 1: the user name",
		strings.Repeat("u", 65) + ":" + mt.HashSHA512:   "line 1: the user name",
		"a:" + mt.HashSHA512 + "\na:" + mt.HashSHA256:   `line 2: user "a" is listed twice`,
		strings.Repeat("#", model.MaxAuthSecretBytes+1): "more than",
	} {
		_, rej := buildAuth(t, []*networkingv1.Ingress{authIngress("i", "users", "", "h.example")}, mt.AuthSecret("ns", "users", data))
		if len(rej) != 1 || !strings.Contains(rej[0].Reason, want) {
			t.Errorf("%.40q: rejections %v, want %q", data, rej, want)
		}
	}
	var lines []string
	for i := range model.MaxAuthUsersPerSecret + 1 {
		lines = append(lines, fmt.Sprintf("u%d:%s", i, mt.HashSHA512))
	}
	_, rej := buildAuth(t, []*networkingv1.Ingress{authIngress("i", "users", "", "h.example")}, mt.AuthSecret("ns", "users", strings.Join(lines, "\r\n")))
	if len(rej) != 1 || !strings.Contains(rej[0].Reason, "lists 101 users, the limit is 100") {
		t.Errorf("rejections %v", rej)
	}
	// bcrypt cost 10 is 96 units: 4 users pass the Secret's limit.
	lines = nil
	for i := range 4 {
		lines = append(lines, fmt.Sprintf("u%d:$2y$10$%s", i, strings.Repeat("b", 53)))
	}
	_, rej = buildAuth(t, []*networkingv1.Ingress{authIngress("i", "users", "", "h.example")}, mt.AuthSecret("ns", "users", strings.Join(lines, "\n")))
	if len(rej) != 1 || !strings.Contains(rej[0].Reason, "cost 384 units") {
		t.Errorf("rejections %v", rej)
	}
}

// TestAuthModel: the userlists, the map and the backend's rules; a broken
// or missing Secret leaves out only the Ingresses that use it; the total
// cost leaves out the youngest Ingress past it.
func TestAuthModel(t *testing.T) {
	cfg, rej := buildAuth(t, []*networkingv1.Ingress{
		authIngress("a", "users", "", "a.example"),
		authIngress("b", "users", "Team B", "b.example"),
		authIngress("c", "broken", "", "c.example"),
		authIngress("d", "missing", "", "d.example"),
		mt.Ingress("ns", "plain", mt.Rule("p.example", mt.Path("Prefix", "/", "svc", 80))),
	}, mt.AuthSecret("ns", "users", "bob:"+mt.HashSHA256+"\nalice:"+mt.HashSHA512+"\n"),
		mt.AuthSecret("ns", "broken", "alice:"+mt.HashSHA512+"\nbob:"+mt.HashAPR1+"\n"))
	if got := strings.Join(cfg.Served, ","); got != "ns/a,ns/b,ns/plain" {
		t.Errorf("served %s", got)
	}
	if len(rej) != 2 || !strings.Contains(rej[0].Reason, `secret ns/broken key "auth": line 2 (user "bob"): MD5`) || rej[1].Name != "d" || !rej[1].Missing {
		t.Errorf("rejections %v", rej)
	}
	if len(cfg.Userlists) != 1 || cfg.Userlists[0].Name != "auth_ns_users" || cfg.Userlists[0].Users[0].Name != "alice" || cfg.Userlists[0].Cost != 2 {
		t.Errorf("userlists %+v", cfg.Userlists)
	}
	m := entries(cfg.Maps.Policy.Auth)
	if m["ns/a"] != model.AuthRuleKey("auth_ns_users", model.DefaultAuthRealm) || m["ns/b"] != model.AuthRuleKey("auth_ns_users", "Team B") || len(m) != 2 {
		t.Errorf("auth map %v", m)
	}
	if got := cfg.Backends[0].Options.AuthRules; got != "auth_ns_users|Authentication Required\nauth_ns_users|Team B" || !cfg.Backends[0].Options.Policies {
		t.Errorf("auth rules %q", got)
	}
	// Total cost: each Secret 12 bcrypt cost 8 users = 288 units; the
	// fourth passes 1000.
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf("u%d:$2y$08$%s", i, strings.Repeat("b", 53)))
	}
	var ings []*networkingv1.Ingress
	var secrets []*corev1.Secret
	for i := range 4 {
		name := fmt.Sprintf("s%d", i)
		ing := authIngress(name, name, "", name+".example")
		ing.CreationTimestamp.Time = now.Add(time.Duration(i) * time.Minute)
		ings = append(ings, ing)
		secrets = append(secrets, mt.AuthSecret("ns", name, strings.Join(lines, "\n")))
	}
	cfg, rej = buildAuth(t, ings, secrets...)
	if len(cfg.Userlists) != 3 || len(rej) != 1 || rej[0].Name != "s3" || !strings.Contains(rej[0].Reason, "the limit of all is 1000") {
		t.Errorf("userlists %d, rejections %v", len(cfg.Userlists), rej)
	}
}

func TestAuthOptionsTogether(t *testing.T) {
	ing := mt.Ingress("ns", "i", mt.Annotation("bollard.io/auth-type", "basic"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	_, rej := buildAuth(t, []*networkingv1.Ingress{ing})
	if len(rej) != 1 || rej[0].Field != annotationField("auth-type") || !strings.Contains(rej[0].Reason, "auth-secret is not set") {
		t.Errorf("rejections %v", rej)
	}
	ing = mt.Ingress("ns", "i", mt.Annotation("bollard.io/auth-realm", "R"), mt.Annotation("bollard.io/auth-secret", "missing"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
	cfg, rej := buildAuth(t, []*networkingv1.Ingress{ing})
	if len(rej) != 2 || !rej[0].Warning || !rej[1].Warning || len(cfg.Served) != 1 || len(cfg.Userlists) != 0 {
		t.Errorf("served %v, rejections %v", cfg.Served, rej)
	}
}

// The catch-all default backend runs its Ingress's policy: requests that
// match no route are checked for credentials too (model.CatchAllKey).
func TestAuthAppliesToCatchAllDefault(t *testing.T) {
	ing := mt.Ingress("ns", "i", mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", "users"),
		mt.DefaultBackend("svc", 80), mt.Rule("", mt.Path("Prefix", "/x", "svc", 80)))
	cfg, rej := buildAuth(t, []*networkingv1.Ingress{ing}, mt.AuthSecret("ns", "users", "alice:"+mt.HashSHA512))
	if cfg.DefaultBackend == "" || len(rej) != 0 {
		t.Errorf("default backend %q, rejections %v", cfg.DefaultBackend, rej)
	}
	catchAll := false
	for _, e := range cfg.Maps.Policy.PolicyHost {
		catchAll = catchAll || e.Key == model.CatchAllKey && e.Value == "ns/i"
	}
	if len(cfg.Served) != 1 || len(cfg.Maps.Policy.Auth) != 1 || !catchAll {
		t.Errorf("served %v, auth map %v, policy hosts %v", cfg.Served, cfg.Maps.Policy.Auth, cfg.Maps.Policy.PolicyHost)
	}
}
