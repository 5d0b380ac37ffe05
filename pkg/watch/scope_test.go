package watch

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/bollard-io/bollard/pkg/model"
)

func secret(namespace, name string, typ corev1.SecretType, keys ...string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Type: typ, Data: map[string][]byte{}}
	for _, k := range keys {
		s.Data[k] = []byte("value of " + k)
	}
	return s
}

// htpasswd is an Opaque auth Secret with more than the model reads.
func htpasswd(namespace, name string) *corev1.Secret {
	s := secret(namespace, name, corev1.SecretTypeOpaque, "auth", "other")
	s.Labels = map[string]string{"l": "v"}
	s.Annotations = map[string]string{lastAppliedAnnotation: "{}"}
	s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	s.OwnerReferences = []metav1.OwnerReference{{Name: "owner"}}
	return s
}

func configMap(namespace, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

// fakeCluster is a fake clientset whose Secret and ConfigMap lists apply
// field selectors as the API server does (the fake ignores them).
func fakeCluster(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	client.PrependReactor("list", "secrets", func(action k8stesting.Action) (bool, runtime.Object, error) {
		list := action.(k8stesting.ListAction)
		obj, err := client.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "secrets"},
			schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, list.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		out := obj.(*corev1.SecretList)
		out.Items = slices.DeleteFunc(out.Items, func(s corev1.Secret) bool {
			return !list.GetListRestrictions().Fields.Matches(fields.Set{"metadata.name": s.Name, "type": string(s.Type)})
		})
		return true, out, nil
	})
	client.PrependReactor("list", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		list := action.(k8stesting.ListAction)
		obj, err := client.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
			schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, list.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		out := obj.(*corev1.ConfigMapList)
		out.Items = slices.DeleteFunc(out.Items, func(c corev1.ConfigMap) bool {
			return !list.GetListRestrictions().Fields.Matches(fields.Set{"metadata.name": c.Name})
		})
		return true, out, nil
	})
	return client
}

func objects() []runtime.Object {
	return []runtime.Object{
		secret("a", "tls", corev1.SecretTypeTLS, "tls.crt", "tls.key", "ca.crt", "extra"),
		secret("b", "tls", corev1.SecretTypeTLS, "tls.crt", "tls.key"),
		secret("a", "opaque", corev1.SecretTypeOpaque, "tls.crt", "tls.key", "big"),
		secret("a", "token", corev1.SecretTypeServiceAccountToken, "token"),
		htpasswd("b", "users"),
		configMap("a", "global"), configMap("a", "other"), configMap("b", "global"),
	}
}

func names[T interface {
	GetNamespace() string
	GetName() string
}](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

type scopeCase struct {
	name       string
	opts       model.Options
	secrets    []string
	configMaps []string
	auth       []string
}

func scopeCases() []scopeCase {
	return []scopeCase{
		{"all namespaces", model.Options{GlobalConfigMap: "a/global"}, []string{"a/tls", "b/tls"}, []string{"a/global"}, []string{"a/opaque", "b/users"}},
		{"no configmap", model.Options{}, []string{"a/tls", "b/tls"}, nil, []string{"a/opaque", "b/users"}},
		{"one namespace", model.Options{WatchNamespace: "b", GlobalConfigMap: "b/global"}, []string{"b/tls"}, []string{"b/global"}, []string{"b/users"}},
		{"configmap outside the namespace", model.Options{WatchNamespace: "b", GlobalConfigMap: "a/global"}, []string{"b/tls"}, nil, []string{"b/users"}},
		{"malformed configmap", model.Options{GlobalConfigMap: "global"}, []string{"a/tls", "b/tls"}, nil, []string{"a/opaque", "b/users"}},
	}
}

func checkSnapshot(t *testing.T, c scopeCase, snap model.Snapshot) {
	t.Helper()
	if got := names(snap.Secrets); !slices.Equal(got, c.secrets) {
		t.Errorf("secrets %v, want %v", got, c.secrets)
	}
	if got := names(snap.ConfigMaps); !slices.Equal(got, c.configMaps) {
		t.Errorf("configmaps %v, want %v", got, c.configMaps)
	}
	if got := names(snap.AuthSecrets); !slices.Equal(got, c.auth) {
		t.Errorf("auth secrets %v, want %v", got, c.auth)
	}
	// An auth Secret keeps its identity and the "auth" key, nothing else.
	for _, s := range snap.AuthSecrets {
		want := map[string][]byte{"auth": []byte("value of auth")}
		if s.Name == "opaque" {
			want = nil
		}
		if !reflect.DeepEqual(s.Data, want) || s.Labels != nil || s.Annotations != nil || s.ManagedFields != nil || s.OwnerReferences != nil {
			t.Errorf("auth secret %s/%s keeps %+v", s.Namespace, s.Name, s)
		}
	}
	for _, s := range snap.Secrets {
		var keys []string
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"tls.crt", "tls.key"}
		if s.Namespace == "a" {
			want = []string{"ca.crt", "tls.crt", "tls.key"}
		}
		if !slices.Equal(keys, want) {
			t.Errorf("secret %s/%s keeps %v, want %v", s.Namespace, s.Name, keys, want)
		}
	}
}

func TestListScope(t *testing.T) {
	for _, c := range scopeCases() {
		t.Run(c.name, func(t *testing.T) {
			client := fakeCluster(t, objects()...)
			snap, err := List(context.Background(), client, ScopeOf(c.opts))
			if err != nil {
				t.Fatal(err)
			}
			checkSnapshot(t, c, snap)
		})
	}
}

func TestWatcherScope(t *testing.T) {
	for _, c := range scopeCases() {
		t.Run(c.name, func(t *testing.T) {
			client := fakeCluster(t, objects()...)
			w, err := New(client, ScopeOf(c.opts), Handler{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := w.Start(ctx, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			checkSnapshot(t, c, w.Snapshot())
			// The watches carry the same selectors as the lists.
			for _, a := range client.Actions() {
				wa, ok := a.(k8stesting.WatchAction)
				if !ok {
					continue
				}
				sel := wa.GetWatchRestrictions().Fields.String()
				switch a.GetResource().Resource {
				case "secrets":
					if sel != "type=kubernetes.io/tls" && sel != "type=Opaque" {
						t.Errorf("secrets watched with %q", sel)
					}
				case "configmaps":
					if c.configMaps == nil || sel != "metadata.name=global" || a.GetNamespace()+"/global" != c.configMaps[0] {
						t.Errorf("configmaps watched in %q with %q", a.GetNamespace(), sel)
					}
				}
			}
		})
	}
}

// TestTrimAuthSecret: an auth key past the model's limit is cut one byte
// after it, so the model refuses it without the cache holding it all.
func TestTrimAuthSecret(t *testing.T) {
	s := secret("a", "big", corev1.SecretTypeOpaque)
	s.Data["auth"] = make([]byte, 1<<20)
	if got := len(trimAuthSecret(s).Data["auth"]); got != model.MaxAuthSecretBytes+1 {
		t.Errorf("kept %d bytes", got)
	}
}
