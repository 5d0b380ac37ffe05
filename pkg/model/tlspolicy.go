package model

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// TLSPolicy is what the TLS library HAProxy is linked with accepts in a
// certificate chain. A certificate the model accepts but the library
// refuses fails `haproxy -c` and blocks every later reload, so the model
// refuses it first. The zero value is OpenSSL's security level 2, the
// default of Debian's OpenSSL 3; haproxy.ProbeTLSPolicy asks the real
// binary.
type TLSPolicy struct {
	// MinRSABits is the smallest RSA key accepted in the chain; 0 means 2048.
	MinRSABits int
	// MinECBits is the smallest elliptic curve (in bits) accepted in the
	// chain; 0 means 224 (112-bit security, as RSA-2048).
	MinECBits int
	// AllowSHA1 accepts SHA-1 signatures. MD5 and MD2 are never accepted.
	// Self-signatures are not checked: OpenSSL ignores them.
	AllowSHA1 bool
}

// DefaultTLSPolicy returns the rules of OpenSSL's security level 2.
func DefaultTLSPolicy() TLSPolicy {
	return TLSPolicy{MinRSABits: 2048, MinECBits: 224}
}

func (p TLSPolicy) minRSA() int {
	if p.MinRSABits == 0 {
		return 2048
	}
	return p.MinRSABits
}

func (p TLSPolicy) minEC() int {
	if p.MinECBits == 0 {
		return 224
	}
	return p.MinECBits
}

func (p TLSPolicy) String() string {
	sha1 := "refused"
	if p.AllowSHA1 {
		sha1 = "allowed"
	}
	return fmt.Sprintf("RSA keys of at least %d bits, EC keys of at least %d bits, SHA-1 signatures %s",
		p.minRSA(), p.minEC(), sha1)
}

// Check reports the first certificate of chain (leaf first) that the
// policy refuses, naming the problem.
func (p TLSPolicy) Check(chain []*x509.Certificate) error {
	for i, c := range chain {
		what := "certificate"
		if i > 0 {
			what = fmt.Sprintf("chain certificate %d (%s)", i, c.Subject.CommonName)
		}
		if err := p.checkKey(c); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := p.checkSignature(c); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func (p TLSPolicy) checkKey(c *x509.Certificate) error {
	switch key := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := key.N.BitLen(); bits < p.minRSA() {
			return fmt.Errorf("RSA key of %d bits; this HAProxy's TLS library needs at least %d", bits, p.minRSA())
		}
	case *ecdsa.PublicKey:
		if bits := key.Curve.Params().BitSize; bits < p.minEC() {
			return fmt.Errorf("EC key on a %d-bit curve; this HAProxy's TLS library needs at least %d", bits, p.minEC())
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported public key type %T", c.PublicKey)
	}
	return nil
}

func (p TLSPolicy) checkSignature(c *x509.Certificate) error {
	if selfSigned(c) {
		return nil
	}
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return fmt.Errorf("signed with %v; this HAProxy's TLS library refuses MD2 and MD5", c.SignatureAlgorithm)
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		if !p.AllowSHA1 {
			return fmt.Errorf("signed with %v; this HAProxy's TLS library refuses SHA-1 signatures", c.SignatureAlgorithm)
		}
	case x509.UnknownSignatureAlgorithm:
		return fmt.Errorf("signed with an unknown signature algorithm")
	}
	return nil
}

// selfSigned follows OpenSSL's notion (EXFLAG_SS): issuer equals subject
// and the authority key ID, if any, is the certificate's own.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		(len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId))
}
