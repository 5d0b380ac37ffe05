package model

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
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
	leaf    *x509.Certificate
	problem string
	warning string
	missing bool // the Secret does not exist
}

// MaxReadableCertificateFileName is the longest "<namespace>_<name>.pem"
// CertificateFileName keeps. Longer ones (a Secret name may have 253
// bytes) plus the temporary-file suffixes of the writer passed the 255
// bytes a file name may have, and every later write of the config dir
// failed.
const MaxReadableCertificateFileName = 100

// CertificateFileName derives a short, safe file name from a validated
// Secret namespace and name: "<namespace>_<name>.pem", readable for
// operators, when it is at most MaxReadableCertificateFileName bytes, else
// "<first 32 hex digits of sha256(namespace/name)>.pem". The two forms
// cannot collide: Kubernetes names never hold "_", so the readable form
// always has exactly one and the hashed form has none; 128 bits of hash
// make a collision between hashed names negligible.
func CertificateFileName(namespace, name string) string {
	readable := namespace + "_" + name + ".pem"
	if len(readable) <= MaxReadableCertificateFileName {
		return readable
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return hex.EncodeToString(sum[:16]) + ".pem"
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

// Limits of one certificate's SNI list, which is the union over every
// Ingress that uses the Secret (a shared wildcard certificate may serve
// many). HAProxy 2.6 refuses a crt-list line of 2048 words or more (the
// file and 2047 hosts pass) or of more than 65535 characters (MAX_CRT_ARGS,
// CRT_LINESIZE; checked with 2.6.12), and the controller adds a line over
// the runtime API in one command of at most 8 KiB. So a certificate's hosts
// are split over crt-list lines of at most SNIHostsPerLine hosts and
// SNIBytesPerLine bytes (Certificate.SNILines); the same file on several
// lines is one certificate to HAProxy. The total is capped too, so one
// Secret cannot make HAProxy build thousands of SSL contexts; hosts past it
// get the default certificate.
const (
	SNIHostsPerLine           = 100
	SNIBytesPerLine           = 4096
	MaxSNIHostsPerCertificate = 5000
)

// addTLS adds an Ingress's certificates to the crt-list and its TLS hosts
// to the HTTPS redirect map.
// clientCA is the CA file of the Ingress's auth-tls-secret, "" for none.
func (b *builder) addTLS(ing *networkingv1.Ingress, hostKeys map[string]bool, sslRedirect bool, clientCA string) {
	for i, entry := range ing.Spec.TLS {
		hosts := entry.Hosts
		if len(hosts) == 0 {
			for key := range hostKeys {
				if key != HostlessKey {
					hosts = append(hosts, key)
				}
			}
			slices.Sort(hosts) // the caps below must not depend on map order
		}
		refused := b.refuseTLSHosts(ing, i, entry.Hosts)
		if sslRedirect {
			for _, h := range hosts {
				if !refused[h] {
					b.redirects[h] = true
				}
			}
		}
		if clientCA != "" {
			for j, h := range hosts {
				if !refused[h] {
					b.claimClientAuth(ing, fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j), h, clientCA)
				}
			}
		}
		if entry.SecretName == "" {
			continue // served with the default certificate
		}
		field := fmt.Sprintf("spec.tls[%d].secretName", i)
		res := b.certificate(ing.Namespace, entry.SecretName)
		if res.problem != "" {
			b.rejections = append(b.rejections, Rejection{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name,
				Field: field, Reason: res.problem + NoteHostsGetDefault, Missing: res.missing})
			continue
		}
		if res.warning != "" {
			b.warn("Ingress", ing.Namespace, ing.Name, field, res.warning)
		}
		for j, h := range hosts {
			if refused[h] {
				continue
			}
			hostField := fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j)
			if len(entry.Hosts) == 0 {
				hostField = fmt.Sprintf("spec.tls[%d].hosts", i) // host taken from the rules
			}
			b.addSNI(ing, hostField, h, res)
		}
	}
}

// addSNI lets the certificate of res serve host h, unless it does not
// cover h, an older Ingress's certificate already serves h, or the
// certificate's SNI list is full. Only covering certificates take part
// in "oldest wins": a certificate that cannot serve a host never keeps
// one that can from it.
func (b *builder) addSNI(ing *networkingv1.Ingress, field, h string, res certResult) {
	warn := func(format string, args ...any) {
		b.warn("Ingress", ing.Namespace, ing.Name, field, fmt.Sprintf(format, args...)+"; the host gets the default certificate")
	}
	if !covers(res.leaf, h) {
		warn("the certificate of Secret %s does not cover host %q", res.cert.Secret, h)
		return
	}
	owner, taken := b.sniOwners[h]
	if taken && owner == res.cert.FileName {
		return // already listed through another Ingress or entry
	}
	if taken {
		b.reject("Ingress", ing.Namespace, ing.Name, field,
			fmt.Sprintf("host %q already has the certificate of Secret %s from an older Ingress", h, b.certs[owner].Secret))
		return
	}
	cert, ok := b.certs[res.cert.FileName]
	if !ok {
		copied := *res.cert
		cert = &copied
		b.certs[cert.FileName] = cert
	}
	if len(cert.SNI) >= MaxSNIHostsPerCertificate {
		warn("the certificate of Secret %s already serves %d hosts, the limit is %d", cert.Secret, len(cert.SNI), MaxSNIHostsPerCertificate)
		return
	}
	b.sniOwners[h] = cert.FileName
	cert.SNI = append(cert.SNI, h)
}

// covers reports whether leaf is valid for host as a client checks it
// (crypto/x509 VerifyHostname: SANs only, a SAN wildcard covers one
// label). A wildcard host "*.d" is covered only by the SAN "*.d": no
// other name covers every host the wildcard matches.
func covers(leaf *x509.Certificate, host string) bool {
	if strings.HasPrefix(host, "*.") {
		for _, san := range leaf.DNSNames {
			if strings.EqualFold(san, host) {
				return true
			}
		}
		return false
	}
	return leaf.VerifyHostname(host) == nil
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
	b.readSecret(namespace + "/" + name)
	secret, ok := b.secrets[namespace+"/"+name]
	if !ok {
		return certResult{problem: fmt.Sprintf("secret %s/%s not found", namespace, name), missing: true}
	}
	return parseTLSSecret(secret, b.opts.Now, b.opts.TLS)
}

// CheckTLSSecret reports why a Secret cannot serve as a certificate under
// policy (Options.TLS), or nil.
func CheckTLSSecret(secret *corev1.Secret, policy TLSPolicy) error {
	if res := parseTLSSecret(secret, time.Time{}, policy); res.problem != "" {
		return errors.New(res.problem)
	}
	return nil
}

func parseTLSSecret(secret *corev1.Secret, now time.Time, policy TLSPolicy) certResult {
	namespace, name := secret.Namespace, secret.Name
	certPEM, keyPEM := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return certResult{problem: fmt.Sprintf("secret %s/%s has no %s and %s", namespace, name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)}
	}
	if len(certPEM)+len(keyPEM) > MaxSecretDataBytes {
		return certResult{problem: fmt.Sprintf("secret %s/%s holds %d bytes of certificate and key, the limit is %d", namespace, name, len(certPEM)+len(keyPEM), MaxSecretDataBytes)}
	}
	normalized, chain, err := normalizeKeyPair(certPEM, keyPEM)
	if err != nil {
		return certResult{problem: fmt.Sprintf("secret %s/%s: %v", namespace, name, err)}
	}
	if err := policy.Check(chain); err != nil {
		return certResult{problem: fmt.Sprintf("secret %s/%s: %v", namespace, name, err)}
	}
	leaf := chain[0]
	res := certResult{leaf: leaf, cert: &Certificate{
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
	out, chain, err := normalizeKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, err
	}
	return out, chain[0], nil
}

// normalizeKeyPair is NormalizeKeyPair returning the parsed chain, leaf
// first.
func normalizeKeyPair(certPEM, keyPEM []byte) ([]byte, []*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid certificate or key: %w", err)
	}
	chain := make([]*x509.Certificate, 0, len(pair.Certificate))
	for i, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid certificate %d of the chain: %w", i, err)
		}
		chain = append(chain, c)
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
	return out.Bytes(), chain, nil
}
