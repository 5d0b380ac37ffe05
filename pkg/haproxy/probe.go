package haproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// probeParallel bounds the concurrent `haproxy -c` runs of a probe: the
// controller's pod may have little CPU.
const probeParallel = 3

// A probe certificate: a leaf with key and signature as given, signed by
// a P-256 SHA-256 root. CA-signed, because OpenSSL does not check the hash
// of a self-signature.
type probeCert struct {
	name string
	spec tlscert.Spec
}

var probeCerts = []probeCert{
	{"ecdsa-p256", tlscert.Spec{Key: tlscert.ECDSAP256}},
	{"ecdsa-p384", tlscert.Spec{Key: tlscert.ECDSAP384}},
	{"rsa-1024", tlscert.Spec{Key: tlscert.RSA1024}},
	{"rsa-2048", tlscert.Spec{Key: tlscert.RSA2048}},
	{"sha1", tlscert.Spec{Key: tlscert.ECDSAP256, SHA1: true}},
}

// ProbeTLSPolicy asks the HAProxy binary which certificates its TLS
// library loads: it runs `haproxy -c` on a throw-away config per probe
// certificate and derives the policy from which were accepted. The
// library's limits depend on how it was built and configured (security
// level, crypto policies), so they are asked, not assumed.
func ProbeTLSPolicy(ctx context.Context, binary string) (model.TLSPolicy, error) {
	dir, err := os.MkdirTemp("", "bollard-tls-probe-")
	if err != nil {
		return model.TLSPolicy{}, fmt.Errorf("probe TLS policy: %w", err)
	}
	defer os.RemoveAll(dir)
	now := time.Now()
	root, err := tlscert.NewAuthority(now)
	if err != nil {
		return model.TLSPolicy{}, fmt.Errorf("probe TLS policy: %w", err)
	}
	accepted := make([]bool, len(probeCerts))
	errs := make([]error, len(probeCerts))
	sem := make(chan struct{}, probeParallel)
	var wg sync.WaitGroup
	for i, pc := range probeCerts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			spec := pc.spec
			spec.Names = []string{"probe.invalid"}
			pair, err := tlscert.IssueSpec(spec, now, time.Hour, root)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", pc.name, err)
				return
			}
			pem := append(pair.Combined(), root.Pair.CertPEM...)
			accepted[i], errs[i] = loadsCertificate(ctx, binary, filepath.Join(dir, pc.name), pem)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return model.TLSPolicy{}, fmt.Errorf("probe TLS policy: %w", err)
	}
	ok := map[string]bool{}
	for i, pc := range probeCerts {
		ok[pc.name] = accepted[i]
	}
	if !ok["ecdsa-p256"] && !ok["ecdsa-p384"] && !ok["rsa-2048"] {
		return model.TLSPolicy{}, errors.New("probe TLS policy: HAProxy loads none of the usual certificates (P-256, P-384, RSA-2048); is it built with SSL?")
	}
	// A library that refuses RSA-2048 is above security level 2: at level
	// 3, RSA needs 3072 bits and EC 256 (P-384 is the next curve Go parses).
	policy := model.TLSPolicy{MinRSABits: 3072, MinECBits: 384, AllowSHA1: ok["sha1"]}
	switch {
	case ok["rsa-1024"]:
		policy.MinRSABits = 1024
	case ok["rsa-2048"]:
		policy.MinRSABits = 2048
	}
	switch {
	case ok["ecdsa-p256"]:
		policy.MinECBits = 224 // P-224 has the 112-bit security of RSA-2048
	case !ok["ecdsa-p384"]:
		policy.MinECBits = 1024 // no EC key at all: larger than any curve
	}
	return policy, nil
}

// loadsCertificate reports whether `haproxy -c` accepts a bind that loads
// pem. An error means the check itself could not run.
func loadsCertificate(ctx context.Context, binary, dir string, pem []byte) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, pem, 0o600); err != nil {
		return false, err
	}
	// Port 1 is never bound: -c only parses and loads.
	cfg := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend probe\n  bind 127.0.0.1:1 ssl crt " + certFile + "\n"
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return false, err
	}
	err := Check(ctx, binary, cfgFile)
	var checkErr *CheckError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &checkErr):
		return false, nil
	}
	return false, err
}
