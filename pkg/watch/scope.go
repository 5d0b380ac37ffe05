package watch

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
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

// secretSelector selects the Secrets the model reads: kubernetes.io/tls
// only (the API server indexes Secrets by "type").
//
// Opaque Secrets that annotations will reference (route policies) cannot
// join this selector, which has no "or": they need a second informer of
// their own, selected as narrowly, with a transform of their own.
func (s Scope) secretSelector() string {
	return fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()
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
