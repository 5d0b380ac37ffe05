package modeltest

import (
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

// TLSCase is a certificate chain and key as a TLS Secret holds them.
type TLSCase struct {
	Name            string
	CertPEM, KeyPEM []byte
	// Refused is part of the reason OpenSSL security level 2 (the default
	// TLS policy) refuses the chain for; "" when it is accepted.
	Refused string
}

// TLSCases returns chains for host that differ in key type and size and
// in signature hash, at leaf and intermediate level: what HAProxy's TLS
// library may refuse.
func TLSCases(t testing.TB, host string, now time.Time) []TLSCase {
	t.Helper()
	must := func(a *tlscert.Authority, err error) *tlscert.Authority {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	root := must(tlscert.NewAuthority(now))
	sha1Root := must(tlscert.NewAuthoritySpec(tlscert.Spec{SHA1: true}, now, nil))
	sha1Inter := must(tlscert.NewAuthoritySpec(tlscert.Spec{SHA1: true}, now, root))
	rsa1024Inter := must(tlscert.NewAuthoritySpec(tlscert.Spec{Key: tlscert.RSA1024}, now, root))
	cases := []struct {
		name    string
		spec    tlscert.Spec
		ca      *tlscert.Authority
		refused string
	}{
		{"ECDSA P-256", tlscert.Spec{Key: tlscert.ECDSAP256}, root, ""},
		{"ECDSA P-384", tlscert.Spec{Key: tlscert.ECDSAP384}, root, ""},
		{"Ed25519", tlscert.Spec{Key: tlscert.Ed25519}, root, ""},
		{"RSA-2048", tlscert.Spec{Key: tlscert.RSA2048}, root, ""},
		{"RSA-1024", tlscert.Spec{Key: tlscert.RSA1024}, root, "RSA key of 1024 bits"},
		{"self-signed RSA-1024", tlscert.Spec{Key: tlscert.RSA1024}, nil, "RSA key of 1024 bits"},
		{"leaf signed with SHA-1", tlscert.Spec{SHA1: true}, root, "SHA-1"},
		{"self-signed with SHA-1", tlscert.Spec{SHA1: true}, nil, ""},
		{"root signed with SHA-1 in the chain", tlscert.Spec{}, sha1Root, ""},
		{"intermediate signed with SHA-1", tlscert.Spec{}, sha1Inter, "chain certificate 1"},
		{"intermediate with RSA-1024", tlscert.Spec{}, rsa1024Inter, "chain certificate 1"},
	}
	var out []TLSCase
	for _, c := range cases {
		c.spec.Names = []string{host}
		pair, err := tlscert.IssueSpec(c.spec, now, time.Hour, c.ca)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		certPEM := pair.CertPEM
		if c.ca != nil {
			// The chain a Secret carries: leaf, then the issuer.
			certPEM = append(append([]byte{}, certPEM...), c.ca.Pair.CertPEM...)
		}
		out = append(out, TLSCase{Name: c.name, CertPEM: certPEM, KeyPEM: pair.KeyPEM, Refused: c.refused})
	}
	return out
}
