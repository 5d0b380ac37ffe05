// Package tlscert generates self-signed certificates: the default
// certificate served to unknown SNI names, and test certificates.
package tlscert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Pair is a PEM certificate and its PEM private key.
type Pair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// Combined returns the certificate followed by the key, as HAProxy reads it.
func (p Pair) Combined() []byte {
	return append(append([]byte{}, p.CertPEM...), p.KeyPEM...)
}

// SelfSigned makes an ECDSA P-256 certificate for the given DNS names, valid
// from now-1h for the given duration. The first name is the subject CN.
func SelfSigned(names []string, now time.Time, validFor time.Duration) (Pair, error) {
	return Issue(names, now, validFor, nil)
}

// Issue makes a certificate for names signed by ca, or self-signed when ca
// is nil. A CA certificate is made when names is empty.
func Issue(names []string, now time.Time, validFor time.Duration, ca *Authority) (Pair, error) {
	return IssueSpec(Spec{Names: names}, now, validFor, ca)
}

// KeyType names a key algorithm and size.
type KeyType string

// Key types IssueSpec can make. The weak ones exist to probe what a TLS
// library refuses.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA1024   KeyType = "rsa-1024"
	RSA2048   KeyType = "rsa-2048"
	Ed25519   KeyType = "ed25519"
)

// Spec describes a certificate for IssueSpec.
type Spec struct {
	// Names are the DNS names; none makes a CA certificate.
	Names []string
	// Key is the key type; "" is ECDSAP256.
	Key KeyType
	// SHA1 signs with SHA-1 instead of SHA-256 (not with an Ed25519 signer).
	SHA1 bool
	// Client makes a client certificate: extended key usage clientAuth,
	// Names[0] as the subject's common name and no DNS names. A CA made
	// with Client has no extended key usage, so that it may sign client
	// certificates: OpenSSL checks the CA's too.
	Client bool
}

func generateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA1024:
		return rsa.GenerateKey(rand.Reader, 1024)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case Ed25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("unknown key type %q", kt)
}

// sha1Algorithm is the SHA-1 signature algorithm for the signer's key.
func sha1Algorithm(signer crypto.Signer) (x509.SignatureAlgorithm, error) {
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		return x509.SHA1WithRSA, nil
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA1, nil
	}
	return 0, errors.New("SHA-1 signatures need an RSA or ECDSA signer")
}

// IssueSpec makes the certificate spec describes, signed by ca, or
// self-signed when ca is nil.
func IssueSpec(spec Spec, now time.Time, validFor time.Duration, ca *Authority) (Pair, error) {
	pair, _, _, err := issue(spec, now, validFor, ca)
	return pair, err
}

func issue(spec Spec, now time.Time, validFor time.Duration, ca *Authority) (Pair, *x509.Certificate, crypto.Signer, error) {
	key, err := generateKey(spec.Key)
	if err != nil {
		return Pair{}, nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return Pair{}, nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     spec.Names,
	}
	switch {
	case spec.Client && len(spec.Names) > 0:
		tmpl.Subject = pkix.Name{CommonName: spec.Names[0], Organization: []string{"Bollard tests"}}
		tmpl.DNSNames = nil
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case len(spec.Names) > 0:
		tmpl.Subject = pkix.Name{CommonName: spec.Names[0]}
	default:
		tmpl.Subject = pkix.Name{CommonName: "Bollard test CA " + serial.Text(36)}
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		if spec.Client {
			tmpl.ExtKeyUsage = nil
		}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	if spec.SHA1 {
		if tmpl.SignatureAlgorithm, err = sha1Algorithm(signer); err != nil {
			return Pair{}, nil, nil, err
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return Pair{}, nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Pair{}, nil, nil, fmt.Errorf("parse created certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	pair := Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	return pair, cert, key, nil
}

// Authority signs test certificates.
type Authority struct {
	Pair Pair
	cert *x509.Certificate
	key  crypto.Signer
}

// NewAuthority makes a self-signed ECDSA P-256 CA.
func NewAuthority(now time.Time) (*Authority, error) {
	return NewAuthoritySpec(Spec{}, now, nil)
}

// NewAuthoritySpec makes a CA with the key and signature of spec (its
// Names are ignored), signed by parent or self-signed when parent is nil:
// an intermediate's Pair.CertPEM goes into the chain after the leaf.
func NewAuthoritySpec(spec Spec, now time.Time, parent *Authority) (*Authority, error) {
	spec.Names = nil
	pair, cert, key, err := issue(spec, now, 24*time.Hour, parent)
	if err != nil {
		return nil, err
	}
	return &Authority{Pair: pair, cert: cert, key: key}, nil
}

// Pool returns a cert pool holding the authority, for clients.
func (a *Authority) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.Pair.CertPEM)
	return pool
}

// LoadOrCreate returns the certificate and key stored at path, or makes a
// self-signed one and stores it there (mode 0600). Keeping the generated
// default certificate across restarts keeps the rendered files identical,
// so a restarted controller needs no reload.
func LoadOrCreate(path string, names []string, now time.Time, validFor time.Duration) ([]byte, error) {
	if data, err := os.ReadFile(path); err == nil {
		if pair, err := tls.X509KeyPair(data, data); err == nil {
			if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && now.Before(leaf.NotAfter) {
				return data, nil
			}
		}
	}
	pair, err := SelfSigned(names, now, validFor)
	if err != nil {
		return nil, err
	}
	data := pair.Combined()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store default certificate: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, fmt.Errorf("store default certificate: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("store default certificate: %w", err)
	}
	return data, nil
}
