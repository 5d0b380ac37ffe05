package watch

import (
	"bytes"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/bollard-io/bollard/pkg/model"
)

// Scope says which objects Bollard reads. Everything it caches is memory
// a tenant can fill, so it reads only what the model uses: TLS Secrets
// and the one global ConfigMap.
type Scope struct {
	// Namespace limits every namespaced kind ("" = all).
	Namespace string
	// ConfigMap is "namespace/name" of the global ConfigMap ("" = none).
	ConfigMap string
}

// ScopeOf returns the scope the model needs for opts.
func ScopeOf(opts model.Options) Scope {
	return Scope{Namespace: opts.WatchNamespace, ConfigMap: opts.GlobalConfigMap}
}

// secretSelector selects the TLS Secrets the model reads: kubernetes.io/tls
// only (the API server indexes Secrets by "type").
func (s Scope) secretSelector() string {
	return fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()
}

// authSecretSelector selects the Opaque Secrets, which auth-secret names.
// A field selector has no "or", hence a second informer; its transform
// (trimAuthSecret) keeps only the htpasswd key, so what it caches stays
// small whatever else the namespace's Opaque Secrets hold.
func (s Scope) authSecretSelector() string {
	return fields.OneTermEqualSelector("type", string(corev1.SecretTypeOpaque)).String()
}

// configMap returns the namespace and the field selector of the global
// ConfigMap, and false when there is none to read. A ConfigMap outside a
// watched namespace was never read, and RBAC may forbid reading it.
func (s Scope) configMap() (namespace, selector string, ok bool) {
	namespace, name, found := strings.Cut(s.ConfigMap, "/")
	if !found || namespace == "" || name == "" {
		return "", "", false
	}
	if s.Namespace != "" && s.Namespace != namespace {
		return "", "", false
	}
	return namespace, fields.OneTermEqualSelector("metadata.name", name).String(), true
}

// caCertKey holds a CA bundle in a TLS Secret (cert-manager writes it).
const caCertKey = "ca.crt"

// trimSecret drops every data key of a Secret but the certificate, the
// key and the CA bundle.
func trimSecret(secret *corev1.Secret) {
	for key := range secret.Data {
		if !kept(key) {
			delete(secret.Data, key)
		}
	}
	secret.StringData = nil
}

// trimSecretObject is trimSecret as an informer transform.
func trimSecretObject(obj any) (any, error) {
	if secret, ok := obj.(*corev1.Secret); ok {
		trimSecret(secret)
	}
	return obj, nil
}

// kept tells the data keys of a TLS Secret the model may read.
func kept(key string) bool {
	switch key {
	case corev1.TLSCertKey, corev1.TLSPrivateKeyKey, caCertKey:
		return true
	}
	return false
}

// trimAuthSecret returns a Secret with only what the model reads of an
// auth Secret: its identity and the htpasswd key, cut one byte past the
// model's limit (which it then refuses). Labels, annotations, owners and
// managedFields are dropped.
func trimAuthSecret(secret *corev1.Secret) *corev1.Secret {
	out := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: secret.Namespace, Name: secret.Name, UID: secret.UID,
			ResourceVersion: secret.ResourceVersion, Generation: secret.Generation,
			CreationTimestamp: secret.CreationTimestamp, DeletionTimestamp: secret.DeletionTimestamp,
		},
		Type: secret.Type,
	}
	if data, ok := secret.Data[model.AuthSecretKey]; ok {
		if len(data) > model.MaxAuthSecretBytes+1 {
			data = data[:model.MaxAuthSecretBytes+1]
		}
		out.Data = map[string][]byte{model.AuthSecretKey: bytes.Clone(data)}
	}
	return out
}

// trimAuthSecretObject is trimAuthSecret as an informer transform.
func trimAuthSecretObject(obj any) (any, error) {
	if secret, ok := obj.(*corev1.Secret); ok {
		return trimAuthSecret(secret), nil
	}
	return obj, nil
}
