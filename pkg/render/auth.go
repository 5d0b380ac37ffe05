package render

import (
	"fmt"
	"regexp"
	"strings"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/parsers"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http/actions"
	"github.com/haproxytech/client-native/v5/config-parser/types"

	"github.com/bollard-io/bollard/pkg/model"
)

// The model validated every name, hash and realm; these patterns check
// again that only plain words reach haproxy.cfg.
var (
	safeUserlist = regexp.MustCompile(`^[a-z0-9._-]{1,128}$`)
	safeUser     = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)
	safeHash     = regexp.MustCompile(`^\$(5|6|2a|2b|2y)\$[$./0-9A-Za-z=]{1,200}$`)
	safeRealm    = regexp.MustCompile(`^[ !&()*+,\-./0-9:;<=>?@A-Z\[\]^_` + "`" + `a-z{|}~]{1,64}$`)
)

// writeUserlists writes one userlist section per auth Secret in use.
func writeUserlists(sb *strings.Builder, lists []model.Userlist) error {
	for _, ul := range lists {
		if !safeUserlist.MatchString(ul.Name) {
			return fmt.Errorf("userlist %q: unsafe name", ul.Name)
		}
		users := &parsers.User{}
		users.Init()
		for _, u := range ul.Users {
			if !safeUser.MatchString(u.Name) || !safeHash.MatchString(u.Hash) {
				return fmt.Errorf("userlist %s: unsafe user name or hash of %q", ul.Name, u.Name)
			}
			if err := users.Insert(types.User{Name: u.Name, Password: u.Hash}, -1); err != nil {
				return fmt.Errorf("userlist %s user %s: %w", ul.Name, u.Name, err)
			}
		}
		sb.WriteString("\nuserlist ")
		sb.WriteString(ul.Name)
		sb.WriteString("\n  # secret ")
		sb.WriteString(ul.Secret)
		sb.WriteByte('\n')
		if err := writeLines(sb, users); err != nil {
			return fmt.Errorf("userlist %s: %w", ul.Name, err)
		}
	}
	return nil
}

// writeLines writes the lines of one keyword parser, indented.
func writeLines(sb *strings.Builder, p parser.ParserInterface) error {
	result, _, err := p.ResultAll()
	if err != nil {
		return err
	}
	for _, line := range result {
		sb.WriteString("  ")
		sb.WriteString(line.Data)
		sb.WriteByte('\n')
	}
	return nil
}

// authRules returns the backend's auth rules: one per userlist and realm
// that a policy routed to it uses. A request is checked against the rule
// its policy's map entry names, so moving an Ingress between the rules a
// backend has is a map update. The realm is static in HAProxy.
func authRules(o *model.BackendOptions) ([]parser.ParserInterface, error) {
	if o.AuthRules == "" {
		return nil, nil
	}
	rules := &http.Requests{Name: "http-request", Mode: "backend"}
	rules.Init()
	for _, r := range strings.Split(o.AuthRules, "\n") {
		userlist, realm, _ := strings.Cut(r, "|")
		if !safeUserlist.MatchString(userlist) || !safeRealm.MatchString(realm) {
			return nil, fmt.Errorf("auth rule %q: unsafe userlist or realm", r)
		}
		rule := &actions.Auth{
			Realm:    `"` + realm + `"`,
			Cond:     "if",
			CondTest: "{ var(txn.policy),map_str(" + PolicyAuthMap + ") -m str " + model.AuthRuleKey(userlist, realm) + " } !{ http_auth(" + userlist + ") }",
		}
		if err := rules.Insert(types.Action(rule), -1); err != nil {
			return nil, fmt.Errorf("auth rule %s: %w", userlist, err)
		}
	}
	return []parser.ParserInterface{rules}, nil
}
