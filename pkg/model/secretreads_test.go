package model_test

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
)

// TestReadsSecret: the model tells every Secret it looked up, as a TLS,
// client CA, backend CA, auth or default certificate Secret, found or not,
// and no other; the informers skip changes of the others.
func TestReadsSecret(t *testing.T) {
	snap := clientAuthSnapshot(t,
		mtlsIngress("secure", "a.example", map[string]string{"auth-tls-secret": "ca"}, mt.TLS("tls", "a.example")),
		mtlsIngress("backend", "b.example", map[string]string{"backend-protocol": "HTTPS", "backend-ca-secret": "bca-missing"}),
		authIngress("auth", "users", "", "c.example"),
		mt.Ingress("other", "auth", mt.Annotation("bollard.io/auth-type", "basic"), mt.Annotation("bollard.io/auth-secret", "gone"),
			mt.Rule("d.example", mt.Path("Prefix", "/", "svc", 80))),
	)
	snap.AuthSecrets = []*corev1.Secret{mt.AuthSecret("ns", "users", "u:"+mt.HashSHA512+"\n"), mt.AuthSecret("ns", "unused-auth", "u:"+mt.HashSHA512+"\n")}
	opts := options()
	opts.DefaultSSLCertificate = "kube-system/default-cert"
	cfg, _, reads := model.BuildReads(snap, opts)
	if want, _ := model.Build(snap, opts); !reflect.DeepEqual(cfg, want) {
		t.Error("BuildReads and Build differ")
	}
	for key, want := range map[string]bool{
		"ns/tls": true, "ns/ca": true, "ns/bca-missing": true, "ns/users": true, "other/gone": true, "kube-system/default-cert": true,
		"ns/ca2": false, "ns/noca": false, "ns/unused-auth": false, "other/tls": false, "": false,
	} {
		if got := reads.Has(key); got != want {
			t.Errorf("ReadsSecret(%q) = %v, want %v", key, got, want)
		}
	}
	// A refused Ingress is left out before its Secrets are read: the
	// controller treats its namespace's Secrets as read.
	opts.Refused = map[string]string{"ns/secure": "refused"}
	if _, _, reads := model.BuildReads(snap, opts); reads.Has("ns/ca") || !reads.Has("ns/users") {
		t.Errorf("the Secrets of a refused Ingress are read, or the others not")
	}
	var none model.SecretReads
	if none.Has("ns/tls") {
		t.Errorf("no reads has a Secret")
	}
}
