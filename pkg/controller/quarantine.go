package controller

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// quarantine keeps the Ingresses that HAProxy refused out of the model, so
// that one tenant's object that the model accepts but `haproxy -c` refuses
// (a TLS library limit, a line too long, whatever the model missed) costs
// only that object, not every later change of everyone. An Ingress leaves
// quarantine when it, a Secret it names or the options of a Service it
// routes to change.
type quarantine struct {
	refused map[string]refusal // "namespace/name"
	// checked holds the fingerprints of the Ingresses of the last config
	// that haproxy -c accepted: the ones that differ are the suspects when
	// a check fails.
	checked map[string]string
	// refusals counts refuse calls: a background build started before
	// one has the old quarantine in its options (background.go).
	refusals uint64
}

type refusal struct {
	fingerprint string
	message     string
}

func newQuarantine() *quarantine {
	return &quarantine{refused: map[string]refusal{}, checked: map[string]string{}}
}

// readIndex finds the objects an Ingress's fingerprint reads.
type readIndex struct {
	secrets     map[string]*corev1.Secret  // "namespace/name"
	authSecrets map[string]*corev1.Secret  // "namespace/name"
	services    map[string]*corev1.Service // "namespace/name"
}

func indexReads(snap *model.Snapshot) readIndex {
	idx := readIndex{
		secrets:     make(map[string]*corev1.Secret, len(snap.Secrets)),
		authSecrets: make(map[string]*corev1.Secret, len(snap.AuthSecrets)),
		services:    make(map[string]*corev1.Service, len(snap.Services)),
	}
	for _, s := range snap.Secrets {
		idx.secrets[s.Namespace+"/"+s.Name] = s
	}
	for _, s := range snap.AuthSecrets {
		idx.authSecrets[s.Namespace+"/"+s.Name] = s
	}
	for _, s := range snap.Services {
		idx.services[s.Namespace+"/"+s.Name] = s
	}
	return idx
}

// fingerprint changes whenever what the model reads for an Ingress
// changes: its spec (generation), its annotations, the Secrets it names
// (TLS, backend-ca-secret, auth-tls-secret, auth-secret) and the backend options of the Services it
// routes to, with their CA Secrets. Status writes do not change it. A
// Service option that HAProxy refuses thus makes its Ingresses suspects,
// and a fixed Service releases them.
func fingerprint(ing *networkingv1.Ingress, idx readIndex) string {
	h := fnv.New64a()
	version := strconv.FormatInt(ing.Generation, 10)
	if ing.Generation == 0 { // objects that did not come from an API server
		version = "rv" + ing.ResourceVersion
	}
	h.Write([]byte(version))
	for _, k := range slices.Sorted(maps.Keys(ing.Annotations)) {
		fmt.Fprintf(h, "\x00%s=%s", k, ing.Annotations[k])
	}
	secretIn := func(from map[string]*corev1.Secret, tag, name string) {
		rv := "-"
		if s, ok := from[ing.Namespace+"/"+name]; ok {
			rv = s.ResourceVersion
		}
		fmt.Fprintf(h, "\x00%s%s@%s", tag, name, rv)
	}
	secret := func(name string) { secretIn(idx.secrets, "", name) }
	for _, tls := range ing.Spec.TLS {
		secret(tls.SecretName)
	}
	for _, key := range []string{caSecretAnnotation, clientCASecretAnnotation} {
		if name, ok := ing.Annotations[key]; ok {
			secret(name)
		}
	}
	if name, ok := ing.Annotations[authSecretAnnotation]; ok {
		secretIn(idx.authSecrets, "auth:", name)
	}
	for _, name := range ingressServices(ing) {
		svc, ok := idx.services[ing.Namespace+"/"+name]
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(svc.Annotations)) {
			if strings.HasPrefix(k, model.AnnotationPrefix) {
				fmt.Fprintf(h, "\x00%s:%s=%s", name, k, svc.Annotations[k])
			}
		}
		if name, ok := svc.Annotations[caSecretAnnotation]; ok {
			secret(name)
		}
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// caSecretAnnotation and clientCASecretAnnotation name the CA Secrets of
// backend-ca-secret and auth-tls-secret, authSecretAnnotation the htpasswd
// Secret of auth-secret.
const (
	caSecretAnnotation       = model.AnnotationPrefix + "backend-ca-secret"
	clientCASecretAnnotation = model.AnnotationPrefix + "auth-tls-secret"
	authSecretAnnotation     = model.AnnotationPrefix + "auth-secret"
)

// ingressServices lists, sorted and once each, the Services an Ingress
// routes to.
func ingressServices(ing *networkingv1.Ingress) []string {
	var names []string
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil {
			names = append(names, b.Service.Name)
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			add(&rule.HTTP.Paths[i].Backend)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// current returns the refused Ingresses for the model, after releasing
// those that changed since HAProxy refused them.
func (q *quarantine) current(snap *model.Snapshot) map[string]string {
	if len(q.refused) == 0 {
		return nil
	}
	idx := indexReads(snap)
	present := map[string]*networkingv1.Ingress{}
	for _, ing := range snap.Ingresses {
		if _, ok := q.refused[ing.Namespace+"/"+ing.Name]; ok {
			present[ing.Namespace+"/"+ing.Name] = ing
		}
	}
	out := map[string]string{}
	for key, r := range q.refused {
		if strings.Contains(key, ":") { // an HTTPRoute or a Gateway
			if fp, ok := gatewayObjectFingerprint(snap, idx, key); !ok || fp != r.fingerprint {
				delete(q.refused, key)
				continue
			}
			out[key] = r.message
			continue
		}
		ing, ok := present[key]
		if !ok || fingerprint(ing, idx) != r.fingerprint {
			delete(q.refused, key) // deleted or changed: try it again
			continue
		}
		out[key] = r.message
	}
	return out
}

// servedFingerprints fingerprints the Ingresses that cfg serves.
func servedFingerprints(snap *model.Snapshot, cfg *model.Config) map[string]string {
	idx := indexReads(snap)
	byKey := make(map[string]*networkingv1.Ingress, len(snap.Ingresses))
	for _, ing := range snap.Ingresses {
		byKey[ing.Namespace+"/"+ing.Name] = ing
	}
	fps := make(map[string]string, len(cfg.Served))
	for _, key := range cfg.Served {
		if ing, ok := byKey[key]; ok {
			fps[key] = fingerprint(ing, idx)
		}
	}
	gatewayFingerprints(snap, cfg, idx, fps)
	return fps
}

// changedSince lists, sorted, the keys of fps whose fingerprint differs
// from the last config haproxy -c accepted.
func (q *quarantine) changedSince(fps map[string]string) []string {
	var out []string
	for key, fp := range fps {
		if q.checked[key] != fp {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// suspects lists the served Ingresses that changed since the last config
// haproxy -c accepted, sorted.
func (q *quarantine) suspects(snap *model.Snapshot, cfg *model.Config) []string {
	return q.changedSince(servedFingerprints(snap, cfg))
}

// accepted records the Ingresses of a config that haproxy -c accepted, and
// returns those that changed since the one before (sorted): the ones to
// tell when HAProxy then fails to load it.
func (q *quarantine) accepted(snap *model.Snapshot, cfg *model.Config) []string {
	fps := servedFingerprints(snap, cfg)
	changed := q.changedSince(fps)
	q.checked = fps
	return changed
}

// refuse quarantines the Ingresses of a snapshot named by keys.
func (q *quarantine) refuse(snap *model.Snapshot, keys []string, message string) {
	q.refusals++
	idx := indexReads(snap)
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for _, ing := range snap.Ingresses {
		key := ing.Namespace + "/" + ing.Name
		if want[key] {
			q.refused[key] = refusal{fingerprint: fingerprint(ing, idx), message: message}
		}
	}
	for key := range want {
		if fp, ok := gatewayObjectFingerprint(snap, idx, key); ok {
			q.refused[key] = refusal{fingerprint: fp, message: message}
		}
	}
}

// errBudget ends an isolation pass that used up its checks or its time.
var errBudget = errors.New("isolation budget used up")

// isolate finds the suspects without which check passes, by group testing:
// a group that passes together is good; a failing group is split until
// single culprits remain. check(included) builds the config with the
// suspects not in included left out. It costs about 2·k·log2(n) checks for
// k culprits among n suspects, and 3-4 in the common case of one new
// Ingress. Nobody is blamed unless the config fails with every suspect and
// passes without them all, and every culprit failed a check of its own
// (with the suspects known good). When check returns errBudget, the
// culprits found so far are returned: the next pass goes on with the rest.
func isolate(suspects []string, check func(included []string) (bool, error)) ([]string, error) {
	if len(suspects) == 0 {
		return nil, nil
	}
	if ok, err := check(nil); err != nil || !ok {
		return nil, err // fails without them all: the cause is elsewhere
	}
	if ok, err := check(suspects); err != nil || ok {
		return nil, err // passes with them all: not reproducible
	}
	var good, culprits []string
	var search func(group []string, knownBad bool) error
	search = func(group []string, knownBad bool) error {
		// A single suspect only inferred to fail gets a check of its own.
		if !knownBad || len(group) == 1 {
			ok, err := check(append(slices.Clone(good), group...))
			if err != nil {
				return err
			}
			if ok {
				good = append(good, group...)
				return nil
			}
		}
		if len(group) == 1 {
			culprits = append(culprits, group[0])
			return nil
		}
		half, before := len(group)/2, len(culprits)
		if err := search(group[:half], false); err != nil {
			return err
		}
		// The group fails; when its first half holds no culprit, the
		// second half is known to fail too.
		return search(group[half:], len(culprits) == before)
	}
	err := search(suspects, true)
	if err != nil && !errors.Is(err, errBudget) {
		return nil, err
	}
	slices.Sort(culprits)
	return culprits, err
}

// checkMessage is the first alert of haproxy -c, for the Warning Event:
// what HAProxy said, without the staging path.
func checkMessage(err error, stagingDir string) string {
	var ce *haproxy.CheckError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	for _, line := range strings.Split(ce.Output, "\n") {
		if _, msg, ok := strings.Cut(line, "[ALERT]"); ok {
			if _, rest, ok := strings.Cut(msg, ": "); ok {
				msg = rest
			}
			msg = strings.ReplaceAll(strings.TrimSpace(msg), stagingDir+"/", "")
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			return msg
		}
	}
	return "haproxy -c failed"
}

// errIsolated says a check failed, the Ingresses that caused it are in
// quarantine now, and the sync should run again at once without them.
var errIsolated = errors.New("refused Ingresses isolated")

// checkAccepted runs haproxy -c on the candidate files of cfg. When HAProxy
// refuses them, the Ingresses that cause it are isolated (errIsolated);
// when it accepts them, they are recorded as accepted and the Ingresses
// changed since the config accepted before are returned.
func (c *Controller) checkAccepted(ctx context.Context, files []render.File, cfg *model.Config) ([]string, error) {
	if err := c.check(ctx, files); err != nil {
		if errors.Is(err, errStaging) {
			return nil, err
		}
		isolated, ierr := c.isolateRefused(ctx, c.quarantine.suspects(c.built.snap, cfg), err)
		if isolated {
			return nil, errIsolated
		}
		if ierr != nil {
			c.log.Warn("could not isolate the refused objects", "err", ierr)
		}
		return nil, err
	}
	return c.quarantine.accepted(c.built.snap, cfg), nil
}

// untilAccepted runs try on cfg and its files and, each time it isolated
// refused Ingresses, again on a model built anew, at most
// maxStartIsolations times more. It returns the config try last ran on.
func (c *Controller) untilAccepted(cfg *model.Config, files []render.File, try func(*model.Config, []render.File) error) (*model.Config, []render.File, error) {
	for attempt := 0; ; attempt++ {
		err := try(cfg, files)
		if !errors.Is(err, errIsolated) || attempt == maxStartIsolations {
			return cfg, files, err
		}
		_, cfg = c.buildModel()
		if files, err = c.renderFiles(cfg); err != nil {
			return nil, nil, err
		}
	}
}

// maxStartIsolations bounds how often start-up checks the config again
// after Ingresses that HAProxy refused were left out.
const maxStartIsolations = 3

// isolateRefused finds, among the suspects, the Ingresses without which
// haproxy -c accepts the config, and quarantines them. It reports whether
// it found any.
func (c *Controller) isolateRefused(ctx context.Context, suspects []string, checkErr error) (bool, error) {
	built := c.built
	if built == nil || len(suspects) == 0 {
		return false, nil
	}
	start := time.Now()
	checks := 0
	culprits, err := isolate(suspects, func(included []string) (bool, error) {
		// The apply loop waits meanwhile: bound a pass, the next one goes
		// on after the endpoint updates that queued up.
		if checks >= maxIsolationChecks || time.Since(start) > isolationBudget {
			return false, errBudget
		}
		checks++
		refused := maps.Clone(built.opts.Refused)
		if refused == nil {
			refused = map[string]string{}
		}
		in := map[string]bool{}
		for _, k := range included {
			in[k] = true
		}
		for _, k := range suspects {
			if !in[k] {
				refused[k] = "isolating"
			}
		}
		opts := built.opts
		opts.Refused = refused
		cfg, _ := model.Build(*built.snap, opts)
		files, err := c.renderFiles(&cfg)
		if err != nil {
			return false, err
		}
		err = c.checkCandidate(ctx, files)
		var ce *haproxy.CheckError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &ce):
			return false, nil
		default:
			return false, err
		}
	})
	if len(culprits) == 0 {
		return false, err
	}
	message := checkMessage(checkErr, c.stagingDir())
	// The object to change is the live one, even when the config held its
	// last good version; that version is refused too, so it is forgotten.
	c.quarantine.refuse(built.live, culprits, message)
	c.changes.markFull() // the model's options changed
	for _, key := range culprits {
		if slices.Contains(built.kept, "Ingress "+key) {
			c.lastGood.forget(key)
		}
	}
	c.log.Warn("HAProxy refused the config with these Ingresses; leaving them out until they change",
		"ingresses", culprits, "haproxy", message, "suspects", len(suspects), "checks", checks,
		"took", time.Since(start).Round(time.Millisecond), "complete", err == nil)
	return true, nil
}

// Bounds of one isolation pass (about 1 s per check at 10k Ingresses).
const (
	maxIsolationChecks = 40
	isolationBudget    = 30 * time.Second
)
