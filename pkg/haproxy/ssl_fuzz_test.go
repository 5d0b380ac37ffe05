package haproxy

import (
	"bytes"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
	"github.com/bollard-io/bollard/pkg/tlscert"
)

// FuzzTLSSecret feeds arbitrary tls.crt and tls.key bytes through the
// model. Whatever it accepts must
//   - be well-formed PEM of CERTIFICATE blocks followed by one PRIVATE KEY,
//     with nothing else (no byte of an injection around the blocks);
//   - go over the runtime API: new ssl cert, set ssl cert (whose payload
//     rules refuse empty lines and '\r') and the crt-list line with its SNI.
func FuzzTLSSecret(f *testing.F) {
	now := time.Now()
	pair, err := tlscert.SelfSigned([]string{"h.example"}, now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	other, err := tlscert.SelfSigned([]string{"h.example"}, now, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	cert, key := string(pair.CertPEM), string(pair.KeyPEM)
	seeds := [][2]string{
		{cert, key},
		{cert, string(other.KeyPEM)},
		{cert + "\nbind :1\n\nshow info\n", key},
		{strings.ReplaceAll(cert, "\n", "\r\n"), key},
		{cert, key + "\x00;disable frontend http\n"},
		{"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", key},
		{cert + cert, key},
		{"", key},
		{cert, ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	opts := model.DefaultOptions()
	opts.FallbackCertificate = pair.Combined()
	opts.Now = now
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		ing := mt.Ingress("ns", "i", mt.TLS("s", "h.example"), mt.Rule("h.example", mt.Path("Prefix", "/", "svc", 80)))
		cfg, _ := model.Build(model.Snapshot{
			Ingresses: []*networkingv1.Ingress{ing},
			Secrets:   []*corev1.Secret{mt.TLSSecret("ns", "s", certPEM, keyPEM)},
		}, opts)
		if len(cfg.Certificates) == 0 {
			if bytes.Equal(certPEM, pair.CertPEM) && bytes.Equal(keyPEM, pair.KeyPEM) {
				t.Fatal("the valid seed was refused")
			}
			return
		}
		c := cfg.Certificates[0]
		checkNormalizedPEM(t, c.PEM)
		ref := render.CertsDir + "/" + c.FileName
		if _, err := NewSSLCert(ref); err != nil {
			t.Fatal(err)
		}
		cmd, err := SetSSLCert(ref, c.PEM)
		if err != nil {
			t.Fatalf("the model accepted a certificate the runtime API refuses: %v", err)
		}
		if strings.Contains(cmd.String(), "PRIVATE") {
			t.Fatalf("String() shows the key: %q", cmd.String())
		}
		if _, err := AddSSLCrtList(render.CrtList, ref, c.SNI); err != nil {
			t.Fatalf("crt-list line refused: %v", err)
		}
	})
}

// checkNormalizedPEM: CERTIFICATE blocks, then one PRIVATE KEY, each
// exactly as pem.Encode writes it, and nothing else.
func checkNormalizedPEM(t *testing.T, data []byte) {
	t.Helper()
	rest, certs, keys := data, 0, 0
	var again bytes.Buffer
	for len(rest) > 0 {
		block, r := pem.Decode(rest)
		if block == nil || len(block.Headers) != 0 {
			t.Fatalf("not PEM blocks only: %q", rest)
		}
		switch block.Type {
		case "CERTIFICATE":
			if keys > 0 {
				t.Fatal("a certificate after the key")
			}
			certs++
		case "PRIVATE KEY":
			keys++
		default:
			t.Fatalf("unexpected block %q", block.Type)
		}
		_ = pem.Encode(&again, block)
		rest = r
	}
	if certs == 0 || keys != 1 || !bytes.Equal(again.Bytes(), data) {
		t.Fatalf("%d certificates, %d keys, re-encoded equal %v", certs, keys, bytes.Equal(again.Bytes(), data))
	}
}
