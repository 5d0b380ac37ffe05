package tlscert

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestIssueSpec(t *testing.T) {
	now := time.Now()
	root, err := NewAuthority(now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec Spec
		bits int
		alg  x509.SignatureAlgorithm
	}{
		{Spec{Key: RSA1024}, 1024, x509.ECDSAWithSHA256},
		{Spec{Key: RSA2048}, 2048, x509.ECDSAWithSHA256},
		{Spec{Key: ECDSAP384}, 384, x509.ECDSAWithSHA256},
		{Spec{Key: Ed25519}, 256, x509.ECDSAWithSHA256},
		{Spec{SHA1: true}, 256, x509.ECDSAWithSHA1},
	}
	for _, c := range cases {
		c.spec.Names = []string{"h.example"}
		pair, err := IssueSpec(c.spec, now, time.Hour, root)
		if err != nil {
			t.Fatalf("%+v: %v", c.spec, err)
		}
		block, _ := pem.Decode(pair.CertPEM)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		var bits int
		switch k := cert.PublicKey.(type) {
		case *rsa.PublicKey:
			bits = k.N.BitLen()
		case *ecdsa.PublicKey:
			bits = k.Curve.Params().BitSize
		case ed25519.PublicKey:
			bits = 8 * len(k)
		}
		if bits != c.bits || cert.SignatureAlgorithm != c.alg {
			t.Errorf("%+v: %d bits, %v; want %d, %v", c.spec, bits, cert.SignatureAlgorithm, c.bits, c.alg)
		}
		if err := cert.CheckSignatureFrom(root.cert); err != nil && !c.spec.SHA1 {
			t.Errorf("%+v: not signed by the root: %v", c.spec, err)
		}
	}
	if _, err := IssueSpec(Spec{Names: []string{"h.example"}, Key: Ed25519, SHA1: true}, now, time.Hour, nil); err == nil {
		t.Error("an Ed25519 SHA-1 signature was made")
	}
}
