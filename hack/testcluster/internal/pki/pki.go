// Package pki writes the keys, certificates and token file of a test cluster.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files are the paths that Generate wrote.
type Files struct {
	CACert     string
	ServerCert string
	ServerKey  string
	SAKey      string
	SAPub      string
	Tokens     string
	// AdminToken is the bearer token of the admin user (group system:masters).
	AdminToken string
	// CAPEM is the CA certificate in PEM form, for kubeconfigs.
	CAPEM []byte
}

// Paths returns where Generate writes its files in dir (without the
// in-memory CAPEM and AdminToken), for restarting a process of a running
// cluster.
func Paths(dir string) *Files {
	return &Files{
		CACert:     filepath.Join(dir, "ca.crt"),
		ServerCert: filepath.Join(dir, "apiserver.crt"),
		ServerKey:  filepath.Join(dir, "apiserver.key"),
		SAKey:      filepath.Join(dir, "sa.key"),
		SAPub:      filepath.Join(dir, "sa.pub"),
		Tokens:     filepath.Join(dir, "tokens.csv"),
	}
}

// Generate creates a CA, an API server serving certificate for 127.0.0.1 and localhost, a
// service account signing key pair and a static token file with one admin token, in dir.
func Generate(dir string) (*Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	f := Paths(dir)
	now := time.Now()
	caKey, err := newKey()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testcluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	srvKey, err := newKey()
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create API server certificate: %w", err)
	}
	saKey, err := newKey()
	if err != nil {
		return nil, err
	}
	f.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("generate admin token: %w", err)
	}
	f.AdminToken = hex.EncodeToString(tok)
	writes := []struct {
		path string
		data func() ([]byte, error)
	}{
		{f.CACert, func() ([]byte, error) { return f.CAPEM, nil }},
		{filepath.Join(dir, "ca.key"), func() ([]byte, error) { return keyPEM(caKey) }},
		{f.ServerCert, func() ([]byte, error) {
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}), nil
		}},
		{f.ServerKey, func() ([]byte, error) { return keyPEM(srvKey) }},
		{f.SAKey, func() ([]byte, error) { return keyPEM(saKey) }},
		{f.SAPub, func() ([]byte, error) { return pubPEM(saKey) }},
		{f.Tokens, func() ([]byte, error) {
			return []byte(f.AdminToken + `,admin,admin-uid,"system:masters"` + "\n"), nil
		}},
	}
	for _, w := range writes {
		b, err := w.data()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(w.path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return f, nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func pubPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
