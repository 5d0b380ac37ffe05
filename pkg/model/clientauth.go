package model

import (
	"fmt"
	"maps"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
)

// clientAuthClaim is the first Ingress that asked for client certificates
// on a TLS host: HAProxy verifies them per SNI host, with one CA.
type clientAuthClaim struct {
	caFile          string
	namespace, name string
	field           string
}

// claimClientAuth makes host h ask for client certificates verified with
// caFile, unless an older Ingress asked for another CA on it: then that one
// stays, and this Ingress's clients are verified against it (fail closed).
func (b *builder) claimClientAuth(ing *networkingv1.Ingress, field, h, caFile string) {
	if c, ok := b.clientAuth[h]; ok {
		if c.caFile != caFile {
			b.warn("Ingress", ing.Namespace, ing.Name, annotationField(AnnotationPrefix+"auth-tls-secret"),
				fmt.Sprintf("host %q already asks for client certificates of another CA, from the older Ingress %s/%s; this Ingress's clients on it are verified against that CA", h, c.namespace, c.name))
		}
		return
	}
	b.clientAuth[h] = clientAuthClaim{caFile: caFile, namespace: ing.Namespace, name: ing.Name, field: field}
}

// finishClientAuth puts the claimed hosts on the crt-list lines of the
// certificates that serve them, and lists the CA files they use. A host
// served with the default certificate has no crt-list line to carry the
// request for a certificate: its clients never send one.
func (b *builder) finishClientAuth() {
	if len(b.clientAuth) == 0 {
		return
	}
	c := &b.config
	served := map[string]bool{}
	used := map[string]bool{}
	for i := range c.Certificates {
		cert := &c.Certificates[i]
		for _, h := range cert.SNI {
			if claim, ok := b.clientAuth[h]; ok {
				cert.ClientAuth = append(cert.ClientAuth, ClientAuth{Host: h, CAFile: claim.caFile})
				served[h] = true
				used[claim.caFile] = true
			}
		}
	}
	for _, file := range slices.Sorted(maps.Keys(used)) {
		c.ClientCAs = append(c.ClientCAs, b.clientCAs[file])
	}
	var unserved []string
	for h := range b.clientAuth {
		if !served[h] {
			unserved = append(unserved, h)
		}
	}
	slices.Sort(unserved)
	for _, h := range unserved {
		claim := b.clientAuth[h]
		b.warn("Ingress", claim.namespace, claim.name, claim.field,
			fmt.Sprintf("host %q is served with the default certificate, whose handshakes ask for no client certificate: requests to it have none (403 with auth-tls-verify-client on); give the host a TLS Secret", h))
	}
}
