package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Basic authentication (auth-type, auth-secret, auth-realm). HAProxy
// verifies a password with crypt(3) when it parses the config (haproxy -c
// and every reload) and again on every request, with no cache: the limits
// below bound both (docs/benchmarks.md "Basic authentication").
const (
	// AuthBasic is the only auth-type.
	AuthBasic = "basic"
	// AuthSecretKey is the data key of an auth Secret: htpasswd lines.
	AuthSecretKey = "auth"
	// DefaultAuthRealm is the realm when auth-realm is not set.
	DefaultAuthRealm = "Authentication Required"

	MaxAuthSecretBytes    = 32 << 10
	MaxAuthUsersPerSecret = 100
	MaxAuthUserName       = 64
	MaxAuthRealm          = 64
	MinBcryptCost         = 4
	MaxBcryptCost         = 10
	MinSHACryptRounds     = 1000
	MaxSHACryptRounds     = 20000
	// Costs are in units of one SHA-crypt hash of 5000 rounds (1.1-1.5 ms
	// on the reference machine); bcrypt cost 5 measured 2.4 units, so
	// bcrypt is 3 units at cost 5, doubling per cost (96 at cost 10).
	MaxAuthCostPerSecret = 300
	MaxAuthCostTotal     = 1000
)

// Userlist is the users of one auth Secret: a userlist section.
type Userlist struct {
	// Name is the section name (AuthUserlistName).
	Name string
	// Secret is "namespace/name".
	Secret string
	// Users are sorted by name; names and hashes are validated.
	Users []User
	// Cost is the verification cost of all users, in cost units.
	Cost int
}

// User is one user of a userlist.
type User struct {
	Name string
	Hash string
}

var (
	authUserName = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)
	crypt64      = regexp.MustCompile(`^[./0-9A-Za-z]*$`)
)

// AuthUserlistName is the userlist section of a Secret: readable when
// short, else a hash. Kubernetes names never hold "_", so the two forms
// cannot collide.
func AuthUserlistName(namespace, name string) string {
	readable := "auth_" + namespace + "_" + name
	if len(readable) <= 100 {
		return readable
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return "auth_" + hex.EncodeToString(sum[:16])
}

// AuthRuleKey is the value of maps/policy-auth.map: the rule of a backend
// that checks the userlist with the realm. The realm's hash keeps the key
// a plain token.
func AuthRuleKey(userlist, realm string) string {
	sum := sha256.Sum256([]byte(realm))
	return userlist + "." + hex.EncodeToString(sum[:6])
}

// parseHtpasswd reads htpasswd lines ("user:hash"). Errors name the line
// and, once it is valid, the user; never the hash.
func parseHtpasswd(data []byte) ([]User, int, error) {
	if len(data) > MaxAuthSecretBytes {
		return nil, 0, fmt.Errorf("holds more than %d bytes", MaxAuthSecretBytes)
	}
	var users []User
	seen := map[string]bool{}
	total := 0
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		n := i + 1
		name, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, 0, fmt.Errorf("line %d is not of the form user:hash", n)
		}
		if !authUserName.MatchString(name) {
			return nil, 0, fmt.Errorf("line %d: the user name is not 1 to %d letters, digits and ._@+-", n, MaxAuthUserName)
		}
		if seen[name] {
			return nil, 0, fmt.Errorf("line %d: user %q is listed twice", n, name)
		}
		seen[name] = true
		cost, err := checkHash(hash)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d (user %q): %w", n, name, err)
		}
		total += cost
		users = append(users, User{Name: name, Hash: hash})
	}
	switch {
	case len(users) == 0:
		return nil, 0, errors.New("lists no user")
	case len(users) > MaxAuthUsersPerSecret:
		return nil, 0, fmt.Errorf("lists %d users, the limit is %d", len(users), MaxAuthUsersPerSecret)
	case total > MaxAuthCostPerSecret:
		return nil, 0, fmt.Errorf("its hashes cost %d units to verify, the limit is %d (a SHA-crypt hash of 5000 rounds is 1, bcrypt cost 5 is 3, cost 10 is 96)", total, MaxAuthCostPerSecret)
	}
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return users, total, nil
}

const hashAdvice = "; hash the password with bcrypt (htpasswd -nbB -C 5) or SHA-512 crypt (openssl passwd -6)"

// checkHash accepts SHA-256 and SHA-512 crypt and bcrypt within the cost
// limits, and returns the hash's cost units. Every accepted hash is made
// of "$", digits, "rounds=" and [./0-9A-Za-z]: a safe config word.
func checkHash(h string) (int, error) {
	switch {
	case strings.HasPrefix(h, "$apr1$") || strings.HasPrefix(h, "$1$"):
		return 0, errors.New("MD5 crypt ($apr1$, $1$) is refused: it is too fast to resist guessing" + hashAdvice)
	case strings.HasPrefix(h, "{SHA}"):
		return 0, errors.New("{SHA} (unsalted SHA-1) is refused" + hashAdvice)
	case strings.HasPrefix(h, "$5$"):
		return checkSHACrypt(h[3:], 43)
	case strings.HasPrefix(h, "$6$"):
		return checkSHACrypt(h[3:], 86)
	case strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"):
		return checkBcrypt(h[4:])
	case strings.HasPrefix(h, "$"):
		return 0, errors.New("the hash scheme is not supported" + hashAdvice)
	case len(h) == 13 && crypt64.MatchString(h):
		return 0, errors.New("DES crypt is refused: it reads 8 characters of the password" + hashAdvice)
	}
	return 0, errors.New("the password is not a supported hash (plain text is refused)" + hashAdvice)
}

// checkSHACrypt checks "[rounds=N$]salt$hash" of $5$ and $6$.
func checkSHACrypt(rest string, hashLen int) (int, error) {
	malformed := errors.New("malformed SHA-crypt hash")
	rounds := 5000
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		digits, after, found := strings.Cut(r, "$")
		n, err := strconv.Atoi(digits)
		if !found || err != nil || digits == "" || digits[0] == '0' || strings.ContainsAny(digits, "+-") {
			return 0, malformed
		}
		if n < MinSHACryptRounds || n > MaxSHACryptRounds {
			return 0, fmt.Errorf("rounds=%d is outside %d to %d (every reload and every request verifies the password)", n, MinSHACryptRounds, MaxSHACryptRounds)
		}
		rounds, rest = n, after
	}
	salt, hash, found := strings.Cut(rest, "$")
	if !found || len(salt) < 1 || len(salt) > 16 || len(hash) != hashLen || !crypt64.MatchString(salt) || !crypt64.MatchString(hash) {
		return 0, malformed
	}
	return (rounds + 4999) / 5000, nil
}

// checkBcrypt checks "CC$" and 53 characters (salt and hash) of bcrypt.
func checkBcrypt(rest string) (int, error) {
	if len(rest) != 2+1+53 || rest[2] != '$' || rest[0] < '0' || rest[0] > '9' || rest[1] < '0' || rest[1] > '9' || !crypt64.MatchString(rest[3:]) {
		return 0, errors.New("malformed bcrypt hash")
	}
	cost := int(rest[0]-'0')*10 + int(rest[1]-'0')
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return 0, fmt.Errorf("bcrypt cost %d is outside %d to %d (every reload and every request verifies the password; cost 10 takes about 85 ms)", cost, MinBcryptCost, MaxBcryptCost)
	}
	if cost == 4 {
		return 2, nil
	}
	return 3 << (cost - 5), nil
}

// authResult is a parsed auth Secret.
type authResult struct {
	list    *Userlist
	problem string
	missing bool
}

// authUserlist parses an auth Secret once per Build.
func (b *builder) authUserlist(namespace, name string) authResult {
	key := namespace + "/" + name
	if res, ok := b.parsedAuth[key]; ok {
		return res
	}
	var res authResult
	b.readSecret(key)
	secret, ok := b.authSecrets[key]
	switch {
	case !ok:
		res = authResult{problem: fmt.Sprintf("secret %s not found (an auth Secret is of type Opaque, with the key %q)", key, AuthSecretKey), missing: true}
	default:
		res = parseAuthSecret(secret)
	}
	b.parsedAuth[key] = res
	return res
}

func parseAuthSecret(secret *corev1.Secret) authResult {
	key := secret.Namespace + "/" + secret.Name
	data, ok := secret.Data[AuthSecretKey]
	if !ok {
		return authResult{problem: fmt.Sprintf("secret %s has no key %q", key, AuthSecretKey)}
	}
	users, cost, err := parseHtpasswd(data)
	if err != nil {
		return authResult{problem: fmt.Sprintf("secret %s key %q: %v", key, AuthSecretKey, err)}
	}
	return authResult{list: &Userlist{Name: AuthUserlistName(secret.Namespace, secret.Name), Secret: key, Users: users, Cost: cost}}
}

// useUserlist adds the userlist of an Ingress's auth Secret to the config,
// unless it would pass the total cost: then the Ingress is left out.
func (b *builder) useUserlist(namespace, name string) error {
	res := b.authUserlist(namespace, name)
	if res.problem != "" {
		return errors.New(res.problem)
	}
	if _, ok := b.userlists[res.list.Name]; ok {
		return nil
	}
	if b.authCost+res.list.Cost > MaxAuthCostTotal {
		return fmt.Errorf("the hashes of secret %s cost %d units to verify and the auth Secrets of older Ingresses %d; the limit of all is %d", res.list.Secret, res.list.Cost, b.authCost, MaxAuthCostTotal)
	}
	b.authCost += res.list.Cost
	b.userlists[res.list.Name] = res.list
	return nil
}

// parseAuthType accepts "basic".
func parseAuthType(s string) (any, error) {
	if s != AuthBasic {
		return nil, fmt.Errorf("value %s is not %q", printable(s), AuthBasic)
	}
	return s, nil
}

// parseRealm accepts printable ASCII but the characters haproxy.cfg would
// read inside a quoted word (", \, $, ', #) and %.
func parseRealm(s string) (any, error) {
	if s == "" || len(s) > MaxAuthRealm {
		return nil, fmt.Errorf("value is not 1 to %d characters", MaxAuthRealm)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || strings.IndexByte(`"\'#$%`, c) >= 0 {
			return nil, fmt.Errorf("value %s holds %q: a realm is printable ASCII without \" \\ ' # $ %%", printable(s), c)
		}
	}
	return s, nil
}
