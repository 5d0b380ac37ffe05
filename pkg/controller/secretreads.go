package controller

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/watch"
)

// secretReads answers the informers' question "does the model read this
// Secret?" (watch.Handler.SecretRead) from the last model built, so that
// Secrets no Ingress uses do not wake the apply loop. Informer goroutines
// ask while the apply loop builds.
type secretReads struct {
	last atomic.Pointer[readSet] // nil before the first model: all are read
	mu   sync.Mutex
	// building is set from before a model's snapshot until its reads are
	// published; missed holds the Secrets skipped meanwhile, which the
	// snapshot may predate: the new model may read them.
	building bool
	missed   map[string]bool
}

// readSet is what one model reads.
type readSet struct {
	secrets model.SecretReads
	// refused are the namespaces of refused Ingresses: the model leaves
	// them out unread, but a change of their Secrets releases them.
	refused map[string]bool
}

func (s *readSet) reads(key string) bool {
	if s == nil || s.secrets.Has(key) {
		return true
	}
	namespace, _, _ := strings.Cut(key, "/")
	return s.refused[namespace]
}

// read is watch.Handler.SecretRead.
func (r *secretReads) read(key string) bool {
	if r.last.Load().reads(key) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last.Load().reads(key) { // published since
		return true
	}
	if r.building {
		if r.missed == nil {
			r.missed = map[string]bool{}
		}
		r.missed[key] = true
	}
	return false
}

// begin is called before the snapshot of a model is taken.
func (r *secretReads) begin() {
	r.mu.Lock()
	r.building = true
	r.mu.Unlock()
}

// publish makes a new model's reads the answer and returns the Secrets
// skipped during its build that it reads.
func (r *secretReads) publish(reads model.SecretReads, refused map[string]string) []string {
	set := &readSet{secrets: reads, refused: map[string]bool{}}
	for id := range refused {
		namespace, _, _ := strings.Cut(id, "/")
		set.refused[namespace] = true
	}
	r.mu.Lock()
	r.last.Store(set)
	r.building = false
	missed := r.missed
	r.missed = nil
	r.mu.Unlock()
	var read []string
	for key := range missed {
		if set.reads(key) {
			read = append(read, key)
		}
	}
	return read
}

// publishSecretReads publishes the reads of the model just built, and
// wakes the loop again for a Secret it reads whose change was skipped
// while it was built.
func (c *Controller) publishSecretReads(b *builtModel) {
	for _, key := range c.secretReads.publish(b.reads, b.opts.Refused) {
		namespace, name, _ := strings.Cut(key, "/")
		c.changed(watch.Change{Kind: "Secret", Namespace: namespace, Name: name})
	}
}
