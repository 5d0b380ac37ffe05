// Package manifest reads Kubernetes objects from YAML or JSON files into a
// model.Snapshot. Legacy Ingresses (extensions/v1beta1 and
// networking.k8s.io/v1beta1) are converted to networking.k8s.io/v1.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bollard-io/bollard/pkg/model"
)

// DefaultNamespace is given to objects that name none, as kubectl does.
const DefaultNamespace = "default"

// Result is what a set of manifests held.
type Result struct {
	Snapshot model.Snapshot
	// Skipped lists documents of kinds the model does not read, as
	// "source: apiVersion/kind name".
	Skipped []string
}

// Load reads every path: a file, a directory (its *.yaml, *.yml and *.json
// files, sorted) or "-" for stdin.
func Load(paths []string, stdin io.Reader) (*Result, error) {
	res := &Result{}
	for _, p := range paths {
		if p == "-" {
			if err := res.read("<stdin>", stdin); err != nil {
				return nil, err
			}
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := res.readFile(f); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func expand(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests in %s: %w", p, err)
	}
	slices.Sort(files)
	return files, nil
}

func (r *Result) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read manifests: %w", err)
	}
	defer f.Close()
	return r.read(path, f)
}

type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func (r *Result) read(source string, in io.Reader) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(in, 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		if err := r.add(fmt.Sprintf("%s#%d", source, doc), raw); err != nil {
			return err
		}
	}
}

// add decodes one object, or each item of a List.
func (r *Result) add(source string, raw json.RawMessage) error {
	var meta typeMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if strings.HasSuffix(meta.Kind, "List") && meta.Items != nil {
		for i, item := range meta.Items {
			if err := r.add(fmt.Sprintf("%s.items[%d]", source, i), item); err != nil {
				return err
			}
		}
		return nil
	}
	snap := &r.Snapshot
	rule := ruleFor(meta.Kind)
	var err error
	switch meta.APIVersion + "/" + meta.Kind {
	case "networking.k8s.io/v1/Ingress":
		snap.Ingresses, err = decodeInto(raw, snap.Ingresses, rule, func(o *networkingv1.Ingress) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "networking.k8s.io/v1beta1/Ingress":
		var legacy networkingv1beta1.Ingress
		if err = strictUnmarshal(raw, &legacy); err == nil {
			snap.Ingresses, err = appendChecked(snap.Ingresses, fromNetworkingV1beta1(&legacy), rule)
		}
	case "extensions/v1beta1/Ingress":
		var legacy extensionsv1beta1.Ingress
		if err = strictUnmarshal(raw, &legacy); err == nil {
			snap.Ingresses, err = appendChecked(snap.Ingresses, fromExtensionsV1beta1(&legacy), rule)
		}
	case "networking.k8s.io/v1/IngressClass":
		snap.IngressClasses, err = decodeInto(raw, snap.IngressClasses, rule, func(o *networkingv1.IngressClass) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1/Service":
		snap.Services, err = decodeInto(raw, snap.Services, rule, func(o *corev1.Service) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "discovery.k8s.io/v1/EndpointSlice":
		snap.EndpointSlices, err = decodeInto(raw, snap.EndpointSlices, rule, func(o *discoveryv1.EndpointSlice) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1/Secret":
		snap.Secrets, err = decodeInto(raw, snap.Secrets, rule, func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta })
		if err == nil {
			last := snap.Secrets[len(snap.Secrets)-1]
			mergeStringData(last)
			// Opaque Secrets (the default type) serve as auth Secrets
			// too; the TLS side reads every Secret, as it always did.
			if last.Type == "" || last.Type == corev1.SecretTypeOpaque {
				snap.AuthSecrets = append(snap.AuthSecrets, last)
			}
		}
	case "v1/ConfigMap":
		snap.ConfigMaps, err = decodeInto(raw, snap.ConfigMaps, rule, func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1/Namespace":
		snap.Namespaces, err = decodeInto(raw, snap.Namespaces, rule, func(o *corev1.Namespace) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "gateway.networking.k8s.io/v1/GatewayClass", "gateway.networking.k8s.io/v1beta1/GatewayClass":
		snap.GatewayClasses, err = decodeInto(raw, snap.GatewayClasses, rule, func(o *gatewayv1.GatewayClass) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1beta1/Gateway":
		snap.Gateways, err = decodeInto(raw, snap.Gateways, rule, func(o *gatewayv1.Gateway) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "gateway.networking.k8s.io/v1/HTTPRoute", "gateway.networking.k8s.io/v1beta1/HTTPRoute":
		snap.HTTPRoutes, err = decodeInto(raw, snap.HTTPRoutes, rule, func(o *gatewayv1.HTTPRoute) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "gateway.networking.k8s.io/v1/ReferenceGrant", "gateway.networking.k8s.io/v1beta1/ReferenceGrant":
		snap.ReferenceGrants, err = decodeInto(raw, snap.ReferenceGrants, rule, func(o *gatewayv1.ReferenceGrant) *metav1.ObjectMeta { return &o.ObjectMeta })
	default:
		r.Skipped = append(r.Skipped, fmt.Sprintf("%s: %s/%s", source, printable(meta.APIVersion), printable(meta.Kind)))
	}
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", source, printable(meta.APIVersion), printable(meta.Kind), err)
	}
	return nil
}

// decodeInto decodes raw into a new T, defaults and validates its metadata
// and appends it.
func decodeInto[T any](raw json.RawMessage, list []*T, rule kindRule, meta func(*T) *metav1.ObjectMeta) ([]*T, error) {
	obj := new(T)
	if err := strictUnmarshal(raw, obj); err != nil {
		return list, err
	}
	if err := checkMeta(meta(obj), rule); err != nil {
		return list, err
	}
	return append(list, obj), nil
}

func appendChecked(list []*networkingv1.Ingress, ing *networkingv1.Ingress, rule kindRule) ([]*networkingv1.Ingress, error) {
	if err := checkMeta(&ing.ObjectMeta, rule); err != nil {
		return list, err
	}
	return append(list, ing), nil
}

// strictUnmarshal refuses unknown fields, so a typo such as "serviceNmae"
// is an error rather than a silently empty backend.
func strictUnmarshal(raw json.RawMessage, obj any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(obj)
}

// mergeStringData does what the API server does on write: stringData
// entries overwrite data entries of the same key.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
