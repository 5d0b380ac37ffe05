package model

import "slices"

// SecretReads are the Secrets one Build looked up ("namespace/name"), as
// TLS, CA or auth Secrets, found or not: a change of any other Secret
// cannot change what that Build returned. They are apart from Config,
// which holds only what HAProxy runs (the runtime diff compares it whole).
type SecretReads struct {
	keys []string // sorted, once each
}

// Has reports whether the Build looked up the Secret key.
func (r SecretReads) Has(key string) bool {
	_, found := slices.BinarySearch(r.keys, key)
	return found
}

// BuildReads is Build that also tells which Secrets the model read.
func BuildReads(snap Snapshot, opts Options) (Config, []Rejection, SecretReads) {
	b := build(snap, opts)
	slices.Sort(b.secretsRead)
	return b.config, sortRejections(b.rejections), SecretReads{keys: slices.Compact(b.secretsRead)}
}

// readSecret records that the model looked up the Secret key.
func (b *builder) readSecret(key string) {
	b.secretsRead = append(b.secretsRead, key)
}
