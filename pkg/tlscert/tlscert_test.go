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

// A client CA and its client certificate verify for client authentication.
func TestClientSpec(t *testing.T) {
	now := time.Now()
	ca, err := NewAuthoritySpec(Spec{Client: true}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ca.cert.ExtKeyUsage) != 0 {
		t.Errorf("client CA has extended key usage %v, want none", ca.cert.ExtKeyUsage)
	}
	pair, err := IssueSpec(Spec{Names: []string{"alice"}, Client: true}, now, time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pair.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "alice" || len(cert.DNSNames) != 0 {
		t.Errorf("subject %v, DNS names %v", cert.Subject, cert.DNSNames)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("not a client certificate of the CA: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err == nil {
		t.Error("the client certificate verifies for server authentication")
	}
}
