// Package tlscert generates self-signed certificates: the default
// certificate served to unknown SNI names, and test certificates.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return Pair{}, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
	}
	if len(names) > 0 {
		tmpl.Subject = pkix.Name{CommonName: names[0]}
	} else {
		tmpl.Subject = pkix.Name{CommonName: "Bollard test CA"}
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return Pair{}, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, fmt.Errorf("marshal key: %w", err)
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Authority signs test certificates.
type Authority struct {
	Pair Pair
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewAuthority makes a self-signed CA.
func NewAuthority(now time.Time) (*Authority, error) {
	pair, err := Issue(nil, now, 24*time.Hour, nil)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pair.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	keyBlock, _ := pem.Decode(pair.KeyPEM)
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	return &Authority{Pair: pair, cert: cert, key: key.(*ecdsa.PrivateKey)}, nil
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
