package controller

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// readRunning builds the running state from what HAProxy reports: slots
// (`show servers state`), map entries (`show map`), certificates and their
// SNI hosts (`show ssl cert`, `show ssl crt-list`). structure is the config
// HAProxy loaded its sections from (backends, global options, default
// backend), which the runtime API cannot change. A backend of structure
// that HAProxy does not have means structure is wrong: the caller reloads.
func (c *Controller) readRunning(ctx context.Context, structure *model.Config) (*running, error) {
	cfg := *structure // slices are replaced below, never written through
	r := &running{cfg: &cfg, layouts: map[string]*slotLayout{}, storeOnly: map[string]bool{}, retiring: map[string]bool{}}

	states, err := c.runtime.AllServersState(ctx)
	if err != nil {
		return nil, fmt.Errorf("read servers: %w", err)
	}
	byBackend := map[string][]haproxy.ServerStatus{}
	for _, st := range states {
		byBackend[st.Backend] = append(byBackend[st.Backend], st)
	}
	for i := range structure.Backends {
		be := structure.Backends[i]
		st, ok := byBackend[be.Name]
		if !ok {
			return nil, fmt.Errorf("backend %s is not in the running HAProxy", be.Name)
		}
		r.layouts[be.Name] = layoutFromState(st, be.Slots)
	}

	for _, m := range render.MapFiles(&cfg.Maps) {
		entries, err := c.runtime.MapEntries(ctx, c.mapRef(m.Path))
		if err != nil {
			return nil, fmt.Errorf("read map %s: %w", m.Path, err)
		}
		*m.Entries = mapEntries(entries)
	}

	if err := c.readCertificates(ctx, structure, r); err != nil {
		return nil, err
	}
	return r, nil
}

// mapEntries converts read-back entries to the model's sorted form. A key
// HAProxy holds twice (an `add map` on an existing key) is answered by its
// first entry, so that one is kept.
func mapEntries(entries []haproxy.MapEntry) []model.MapEntry {
	out := make([]model.MapEntry, 0, len(entries))
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, model.MapEntry{Key: e.Key, Value: e.Value})
		}
	}
	slices.SortFunc(out, func(a, b model.MapEntry) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// readCertificates fills r's certificates from the crt-list HAProxy
// serves. A certificate keeps structure's PEM only when HAProxy serves the
// same leaf; otherwise its PEM is left empty, so the diff sends the wanted
// one. Files in the store but on no crt-list line (a runtime batch that
// failed half way) are remembered: `new ssl cert` would be refused for them.
func (c *Controller) readCertificates(ctx context.Context, structure *model.Config, r *running) error {
	list, err := c.runtime.CrtListEntries(ctx, c.crtListRef())
	if err != nil {
		return fmt.Errorf("read crt-list: %w", err)
	}
	files, err := c.runtime.SSLCertFiles(ctx)
	if err != nil {
		return fmt.Errorf("read certificates: %w", err)
	}
	known := map[string]*model.Certificate{}
	for i := range structure.Certificates {
		known[structure.Certificates[i].FileName] = &structure.Certificates[i]
	}
	certs := make([]model.Certificate, 0, len(list))
	for file, entry := range list {
		name, ok := strings.CutPrefix(file, render.CertsDir+"/")
		if !ok {
			return fmt.Errorf("crt-list names %s, outside %s/", file, render.CertsDir)
		}
		cert := model.Certificate{FileName: name, SNI: entry.SNI}
		for _, host := range entry.SNI { // sorted, as the model's
			if caFile, ok := entry.ClientCAs[host]; ok {
				caName, ok := strings.CutPrefix(caFile, render.CADir+"/")
				if !ok {
					return fmt.Errorf("crt-list line of %s names the CA file %s, outside %s/", file, caFile, render.CADir)
				}
				cert.ClientAuth = append(cert.ClientAuth, model.ClientAuth{Host: host, CAFile: caName})
			}
		}
		if want, ok := known[name]; ok {
			same, err := c.servesLeaf(ctx, c.certRef(file), want.PEM)
			if err != nil {
				return err
			}
			if same {
				cert.PEM, cert.Secret, cert.NotAfter = want.PEM, want.Secret, want.NotAfter
			}
		}
		certs = append(certs, cert)
	}
	slices.SortFunc(certs, func(a, b model.Certificate) int { return cmp.Compare(a.FileName, b.FileName) })
	r.cfg.Certificates = certs
	for _, file := range files {
		name, ok := strings.CutPrefix(file, render.CertsDir+"/")
		if _, listed := list[file]; ok && !listed && file != render.DefaultCertPEM {
			r.storeOnly[name] = true
		}
	}
	same, err := c.servesLeaf(ctx, c.certRef(render.DefaultCertPEM), structure.DefaultCertificate)
	if err != nil {
		return err
	}
	if !same {
		r.cfg.DefaultCertificate = nil
	}
	return nil
}

// servesLeaf reports whether HAProxy serves the leaf certificate of pemData
// from certFile.
func (c *Controller) servesLeaf(ctx context.Context, certFile string, pemData []byte) (bool, error) {
	got, err := c.runtime.SSLCertFingerprint(ctx, certFile)
	if err != nil {
		return false, fmt.Errorf("read certificate %s: %w", certFile, err)
	}
	return got == leafFingerprint(pemData), nil
}

// leafFingerprint is the SHA-1 fingerprint of the first certificate of a
// PEM, as `show ssl cert` prints it; "" when there is none.
func leafFingerprint(pemData []byte) string {
	rest := pemData
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return ""
		}
		if block.Type == "CERTIFICATE" {
			sum := sha1.Sum(block.Bytes)
			return strings.ToUpper(hex.EncodeToString(sum[:]))
		}
		if len(bytes.TrimSpace(rest)) == 0 {
			return ""
		}
	}
}
