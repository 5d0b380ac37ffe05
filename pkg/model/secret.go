package model

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// DefaultCertificateFile is the file name of the default certificate.
const DefaultCertificateFile = "default.pem"

// What a rejection of a broken TLS Secret says is served instead. The
// controller replaces it when it keeps the last good version serving.
const (
	NoteHostsGetDefault  = "; its hosts get the default certificate"
	NoteGeneratedInstead = "; using the generated default certificate"
)

// certResult caches the outcome of parsing one Secret.
type certResult struct {
	cert    *Certificate
	problem string
	warning string
}

// CertificateFileName derives a safe file name from a validated Secret
// namespace and name.
func CertificateFileName(namespace, name string) string {
	return namespace + "_" + name + ".pem"
}

func (b *builder) defaultCertificate() {
	b.config.DefaultCertificate = b.opts.FallbackCertificate
	ref := b.opts.DefaultSSLCertificate
	if ref == "" {
		return
	}
	namespace, name, ok := strings.Cut(ref, "/")
	if !ok || validateServiceName(namespace) != nil || validateObjectName(name) != nil {
		b.reject("Secret", "", ref, "--default-ssl-certificate", "not of the form namespace/name")
		return
	}
	res := b.certificate(namespace, name)
	switch {
	case res.problem != "":
		b.reject("Secret", namespace, name, "data", res.problem+NoteGeneratedInstead)
	default:
		if res.warning != "" {
			b.warn("Secret", namespace, name, "data", res.warning)
		}
		b.config.DefaultCertificate = res.cert.PEM
	}
}

// addTLS adds an Ingress's certificates to the crt-list and its TLS hosts
// to the HTTPS redirect map.
func (b *builder) addTLS(ing *networkingv1.Ingress, hostKeys map[string]bool, sslRedirect bool) {
	for i, entry := range ing.Spec.TLS {
		hosts := entry.Hosts
		if len(hosts) == 0 {
			for key := range hostKeys {
				if key != HostlessKey {
					hosts = append(hosts, key)
				}
			}
		}
		refused := b.refuseTLSHosts(ing, i, entry.Hosts)
		if sslRedirect {
			for _, h := range hosts {
				if !refused[h] {
					b.redirects[h] = true
				}
			}
		}
		if entry.SecretName == "" {
			continue // served with the default certificate
		}
		field := fmt.Sprintf("spec.tls[%d].secretName", i)
		res := b.certificate(ing.Namespace, entry.SecretName)
		if res.problem != "" {
			b.reject("Ingress", ing.Namespace, ing.Name, field, res.problem+NoteHostsGetDefault)
			continue
		}
		if res.warning != "" {
			b.warn("Ingress", ing.Namespace, ing.Name, field, res.warning)
		}
		for j, h := range hosts {
			if refused[h] {
				continue
			}
			if owner, taken := b.sniOwners[h]; taken && owner != res.cert.FileName {
				b.reject("Ingress", ing.Namespace, ing.Name, fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j),
					fmt.Sprintf("host %q already has the certificate of Secret %s from an older Ingress", h, b.certs[owner].Secret))
				continue
			}
			b.sniOwners[h] = res.cert.FileName
			cert, ok := b.certs[res.cert.FileName]
			if !ok {
				copied := *res.cert
				cert = &copied
				b.certs[cert.FileName] = cert
			}
			cert.SNI = append(cert.SNI, h)
		}
	}
}

// certificate parses a TLS Secret once per Build.
func (b *builder) certificate(namespace, name string) certResult {
	key := namespace + "/" + name
	if b.parsedCerts == nil {
		b.parsedCerts = map[string]certResult{}
	}
	if res, ok := b.parsedCerts[key]; ok {
		return res
	}
	res := b.parseSecret(namespace, name)
	b.parsedCerts[key] = res
	return res
}

func (b *builder) parseSecret(namespace, name string) certResult {
	secret, ok := b.secrets[namespace+"/"+name]
	if !ok {
		return certResult{problem: fmt.Sprintf("secret %s/%s not found", namespace, name)}
	}
	return parseTLSSecret(secret, b.opts.Now)
}

// CheckTLSSecret reports why a Secret cannot serve as a certificate, or nil.
func CheckTLSSecret(secret *corev1.Secret) error {
	if res := parseTLSSecret(secret, time.Time{}); res.problem != "" {
		return errors.New(res.problem)
	}
	return nil
}

func parseTLSSecret(secret *corev1.Secret, now time.Time) certResult {
	namespace, name := secret.Namespace, secret.Name
	certPEM, keyPEM := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return certResult{problem: fmt.Sprintf("secret %s/%s has no %s and %s", namespace, name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)}
	}
	if len(certPEM)+len(keyPEM) > MaxSecretDataBytes {
		return certResult{problem: fmt.Sprintf("secret %s/%s holds %d bytes of certificate and key, the limit is %d", namespace, name, len(certPEM)+len(keyPEM), MaxSecretDataBytes)}
	}
	normalized, leaf, err := NormalizeKeyPair(certPEM, keyPEM)
	if err != nil {
		return certResult{problem: fmt.Sprintf("secret %s/%s: %v", namespace, name, err)}
	}
	res := certResult{cert: &Certificate{
		FileName: CertificateFileName(namespace, name),
		Secret:   namespace + "/" + name,
		PEM:      normalized,
		NotAfter: leaf.NotAfter,
	}}
	if !now.IsZero() && now.After(leaf.NotAfter) {
		res.warning = fmt.Sprintf("certificate of secret %s/%s expired at %s; it is still served", namespace, name, leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return res
}

// NormalizeKeyPair checks that the key matches the certificate and
// re-encodes both, so that only well-formed PEM blocks reach disk.
func NormalizeKeyPair(certPEM, keyPEM []byte) ([]byte, *x509.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid certificate or key: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("invalid certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("unsupported private key: %w", err)
	}
	var out bytes.Buffer
	for _, der := range pair.Certificate {
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	_ = pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return out.Bytes(), leaf, nil
}
