package controller

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// isolate finds exactly the culprits, for any number of them and any
// position, with few checks.
func TestIsolate(t *testing.T) {
	for _, tc := range []struct {
		n        int
		culprits []int
	}{
		{1, []int{0}}, {2, []int{1}}, {7, []int{3}}, {8, []int{0, 7}}, {64, []int{5, 6, 40}},
		{100, []int{99}}, {5, []int{0, 1, 2, 3, 4}},
	} {
		var suspects []string
		for i := range tc.n {
			suspects = append(suspects, fmt.Sprintf("ns/i%03d", i))
		}
		bad := map[string]bool{}
		var want []string
		for _, i := range tc.culprits {
			bad[suspects[i]] = true
			want = append(want, suspects[i])
		}
		checks := 0
		got, err := isolate(suspects, func(included []string) (bool, error) {
			checks++
			for _, k := range included {
				if bad[k] {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d culprits %v: got %v", tc.n, want, got)
		}
		if len(tc.culprits) == 1 && checks > 2*8+4 {
			t.Errorf("n=%d: %d checks for one culprit", tc.n, checks)
		}
	}
}

// When the config fails without any suspect, nobody is blamed.
func TestIsolateBlamesNobodyForOtherCauses(t *testing.T) {
	got, err := isolate([]string{"a/b", "c/d"}, func([]string) (bool, error) { return false, nil })
	if err != nil || got != nil {
		t.Fatalf("got %v, %v", got, err)
	}
}

// A check that does not fail with the suspects (a timeout, a kill, a
// cause that went away) blames nobody.
func TestIsolateBlamesNobodyWhenNotReproducible(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		var suspects []string
		for i := range n {
			suspects = append(suspects, fmt.Sprintf("ns/i%d", i))
		}
		got, err := isolate(suspects, func([]string) (bool, error) { return true, nil })
		if err != nil || got != nil {
			t.Errorf("n=%d: got %v, %v", n, got, err)
		}
	}
}

// When the budget runs out, the culprits confirmed so far come back with
// errBudget, and no untested suspect is among them.
func TestIsolateBudget(t *testing.T) {
	var suspects []string
	for i := range 64 {
		suspects = append(suspects, fmt.Sprintf("ns/i%02d", i))
	}
	bad := map[string]bool{"ns/i03": true, "ns/i60": true}
	checks := 0
	got, err := isolate(suspects, func(in []string) (bool, error) {
		if checks == 12 {
			return false, errBudget
		}
		checks++
		for _, k := range in {
			if bad[k] {
				return false, nil
			}
		}
		return true, nil
	})
	if !errors.Is(err, errBudget) {
		t.Fatalf("err %v, want errBudget", err)
	}
	for _, k := range got {
		if !bad[k] {
			t.Errorf("blamed %s", k)
		}
	}
	if len(got) == 0 {
		t.Errorf("no culprit within 12 checks")
	}
}

// Two objects that fail only together: the result is confirmed, and a
// set that does not pass is not reported.
func TestIsolateInteracting(t *testing.T) {
	got, err := isolate([]string{"a/1", "a/2", "a/3"}, func(in []string) (bool, error) {
		return !(slices.Contains(in, "a/1") && slices.Contains(in, "a/3")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no culprit for two interacting objects")
	}
}

func TestQuarantineReleasesChangedObjects(t *testing.T) {
	ing := mt.Ingress("team", "web", mt.Rule("a.test", mt.Path("Prefix", "/", "svc", 80)), mt.TLS("cert", "a.test"))
	ing.Generation = 1
	secret := &corev1.Secret{}
	secret.Namespace, secret.Name, secret.ResourceVersion = "team", "cert", "10"
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Secrets: []*corev1.Secret{secret}}
	q := newQuarantine()
	q.refuse(snap, []string{"team/web"}, "key too small")
	if got := q.current(snap); got["team/web"] != "key too small" {
		t.Fatalf("refused: %v", got)
	}
	// A status write changes the resourceVersion, not what the model reads.
	ing.ResourceVersion = "99"
	if got := q.current(snap); len(got) != 1 {
		t.Fatalf("a status write released it: %v", got)
	}
	// A new Secret version releases it.
	secret.ResourceVersion = "11"
	if got := q.current(snap); len(got) != 0 {
		t.Fatalf("still refused after its Secret changed: %v", got)
	}
	q.refuse(snap, []string{"team/web"}, "again")
	ing.Annotations = map[string]string{"bollard.io/ssl-redirect": "false"}
	if got := q.current(snap); len(got) != 0 {
		t.Fatalf("still refused after its annotations changed: %v", got)
	}
	q.refuse(snap, []string{"team/web"}, "again")
	ing.Generation = 2
	if got := q.current(snap); len(got) != 0 {
		t.Fatalf("still refused after its spec changed: %v", got)
	}
}

func TestSuspectsAreWhatChangedSinceTheLastCheck(t *testing.T) {
	a := mt.Ingress("team", "a", mt.Rule("a.test", mt.Path("Prefix", "/", "svc", 80)))
	b := mt.Ingress("team", "b", mt.Rule("b.test", mt.Path("Prefix", "/", "svc", 80)))
	a.Generation, b.Generation = 1, 1
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{a, b}}
	cfg := &model.Config{Served: []string{"team/a", "team/b"}}
	q := newQuarantine()
	if got := q.suspects(snap, cfg); !slices.Equal(got, []string{"team/a", "team/b"}) {
		t.Fatalf("before any check: %v", got)
	}
	q.accepted(snap, cfg)
	if got := q.suspects(snap, cfg); len(got) != 0 {
		t.Fatalf("after the check: %v", got)
	}
	b.Generation = 2
	if got := q.suspects(snap, cfg); !slices.Equal(got, []string{"team/b"}) {
		t.Fatalf("after b changed: %v", got)
	}
}

// The model leaves a refused Ingress out with a rejection that says so.
func TestModelLeavesRefusedOut(t *testing.T) {
	a := mt.Ingress("team", "a", mt.Rule("a.test", mt.Path("Prefix", "/", "svc", 80)))
	b := mt.Ingress("team", "b", mt.Rule("b.test", mt.Path("Prefix", "/", "svc", 80)))
	opts := model.DefaultOptions()
	opts.Refused = map[string]string{"team/b": "crt-list line too long"}
	cfg, rejections := model.Build(model.Snapshot{Ingresses: []*networkingv1.Ingress{a, b}}, opts)
	if !slices.Equal(cfg.Served, []string{"team/a"}) {
		t.Fatalf("served %v", cfg.Served)
	}
	refused := slices.DeleteFunc(rejections, func(r model.Rejection) bool { return !r.Refused })
	if len(refused) != 1 || refused[0].Name != "b" || refused[0].Field != "spec" {
		t.Fatalf("rejections %v", rejections)
	}
}

// The options of a Service an Ingress routes to, and the CA Secrets they
// or the Ingress name, are read for the Ingress: changing them makes it a
// suspect and releases it from quarantine. Other annotations of the Service
// and unrelated Services do not.
func TestFingerprintReadsServiceOptionsAndCASecrets(t *testing.T) {
	ing := mt.Ingress("team", "web", mt.Rule("a.test", mt.Path("Prefix", "/", "svc", 80)))
	ing.Generation = 1
	svc := mt.Service("team", "svc", mt.ServicePort("", 80))
	other := mt.Service("team", "other", mt.ServicePort("", 80))
	ca := &corev1.Secret{}
	ca.Namespace, ca.Name, ca.ResourceVersion = "team", "ca", "1"
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Services: []*corev1.Service{svc, other}, Secrets: []*corev1.Secret{ca}}
	cfg := &model.Config{Served: []string{"team/web"}}
	q := newQuarantine()
	q.accepted(snap, cfg)
	for _, c := range []struct {
		name    string
		change  func()
		suspect bool
	}{
		{"another annotation of the Service", func() { svc.Annotations = map[string]string{"example.com/owner": "x"} }, false},
		{"an unrelated Service's options", func() { other.Annotations = map[string]string{"bollard.io/load-balance": "uri"} }, false},
		{"the Service's options", func() { svc.Annotations["bollard.io/load-balance"] = "uri" }, true},
		{"the Service names a CA Secret", func() { svc.Annotations["bollard.io/backend-ca-secret"] = "ca" }, true},
		{"that CA Secret", func() { ca.ResourceVersion = "2" }, true},
	} {
		c.change()
		got := q.suspects(snap, cfg)
		if c.suspect != slices.Equal(got, []string{"team/web"}) {
			t.Errorf("%s: suspects %v, want the Ingress: %v", c.name, got, c.suspect)
		}
		q.accepted(snap, cfg)
	}
	// The Ingress's own backend-ca-secret: a new Secret version releases it.
	ing.Annotations = map[string]string{"bollard.io/backend-ca-secret": "ca"}
	q.refuse(snap, []string{"team/web"}, "refused")
	ca.ResourceVersion = "3"
	if got := q.current(snap); len(got) != 0 {
		t.Errorf("still refused after its CA Secret changed: %v", got)
	}
}

// An Ingress's auth Secret is part of its fingerprint: a new version of it
// makes the Ingress a suspect, and releases it from quarantine; a TLS
// Secret of the same name does not.
func TestFingerprintReadsAuthSecret(t *testing.T) {
	ing := mt.Ingress("team", "web", mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", "users"),
		mt.Rule("a.test", mt.Path("Prefix", "/", "svc", 80)))
	ing.Generation = 1
	users := mt.AuthSecret("team", "users", "alice:"+mt.HashSHA512)
	users.ResourceVersion = "1"
	tls := &corev1.Secret{}
	tls.Namespace, tls.Name, tls.ResourceVersion = "team", "users", "1"
	snap := &model.Snapshot{Ingresses: []*networkingv1.Ingress{ing}, Secrets: []*corev1.Secret{tls}, AuthSecrets: []*corev1.Secret{users}}
	cfg := &model.Config{Served: []string{"team/web"}}
	q := newQuarantine()
	q.accepted(snap, cfg)
	tls.ResourceVersion = "2"
	if got := q.suspects(snap, cfg); len(got) != 0 {
		t.Errorf("a TLS Secret of the same name made suspects %v", got)
	}
	users.ResourceVersion = "2"
	if got := q.suspects(snap, cfg); !slices.Equal(got, []string{"team/web"}) {
		t.Errorf("suspects %v after the auth Secret changed", got)
	}
	q.refuse(snap, []string{"team/web"}, "refused")
	if got := q.current(snap); len(got) != 1 {
		t.Fatalf("refused %v", got)
	}
	users.ResourceVersion = "3"
	if got := q.current(snap); len(got) != 0 {
		t.Errorf("still refused after its auth Secret changed: %v", got)
	}
}
