package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/bollard-io/bollard/e2e/framework"
)

// overlays are the deployable kustomizations under deploy/overlays.
var overlays = []string{"daemonset", "statefulset"}

// Names the manifests and the tests agree on.
const (
	namespace      = "bollard"
	serviceAccount = "bollard"
	bollardImage   = "ghcr.io/bollard-io/bollard"
	tokenPath      = "/var/run/secrets/kubernetes.io/serviceaccount"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// kubectl returns bin/kubectl, which `make testcluster` builds (kustomize is
// built into it).
func kubectl(t testing.TB) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "bin", "kubectl")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run make testcluster", path)
	}
	return path
}

// manifests are the objects of one kustomization, as `kubectl kustomize`
// renders them.
type manifests struct {
	dir     string
	yaml    string
	objects []runtime.Object
}

// kustomize renders deploy/<rel> (such as overlays/daemonset).
func kustomize(t testing.TB, rel string) *manifests {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", filepath.FromSlash(rel))
	cmd := exec.Command(kubectl(t), "kustomize", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	m := &manifests{dir: dir, yaml: stdout.String()}
	for i, doc := range splitDocs(m.yaml) {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("%s: document %d: %v\n%s", rel, i, err, doc)
		}
		m.objects = append(m.objects, obj)
	}
	if len(m.objects) == 0 {
		t.Fatalf("%s renders no objects", rel)
	}
	return m
}

// splitDocs splits a YAML stream on "---" lines and drops empty documents.
func splitDocs(s string) []string {
	var docs []string
	var cur []string
	flush := func() {
		if doc := strings.TrimSpace(strings.Join(cur, "\n")); doc != "" {
			docs = append(docs, doc)
		}
		cur = nil
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

// only returns the one object of type T named name; it fails the test when
// there is none.
func only[T runtime.Object](t testing.TB, m *manifests, name string) T {
	t.Helper()
	var found []T
	for _, o := range m.objects {
		if typed, ok := o.(T); ok {
			if acc, ok := any(typed).(metav1.Object); ok && acc.GetName() == name {
				found = append(found, typed)
			}
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%s: want one %T named %q, found %d", m.dir, zero, name, len(found))
	}
	return found[0]
}

// all returns every object of type T.
func all[T runtime.Object](m *manifests) []T {
	var out []T
	for _, o := range m.objects {
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// workload is the overlay's DaemonSet or StatefulSet.
type workload struct {
	kind     string
	meta     metav1.ObjectMeta
	selector *metav1.LabelSelector
	template corev1.PodTemplateSpec
}

func (m *manifests) workload(t testing.TB) workload {
	t.Helper()
	var ws []workload
	for _, o := range m.objects {
		if w, ok := asWorkload(o); ok {
			ws = append(ws, w)
		}
	}
	if len(ws) != 1 {
		t.Fatalf("%s: want exactly one workload (DaemonSet or StatefulSet), found %d", m.dir, len(ws))
	}
	return ws[0]
}

func asWorkload(o runtime.Object) (workload, bool) {
	switch w := o.(type) {
	case *appsv1.DaemonSet:
		return workload{kind: "DaemonSet", meta: w.ObjectMeta, selector: w.Spec.Selector, template: w.Spec.Template}, true
	case *appsv1.StatefulSet:
		return workload{kind: "StatefulSet", meta: w.ObjectMeta, selector: w.Spec.Selector, template: w.Spec.Template}, true
	case *appsv1.Deployment:
		return workload{kind: "Deployment", meta: w.ObjectMeta, selector: w.Spec.Selector, template: w.Spec.Template}, true
	}
	return workload{}, false
}

func container(t testing.TB, pod *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Name == name {
			return &pod.InitContainers[i]
		}
	}
	t.Fatalf("the pod has no container %q", name)
	return nil
}

// TestKustomizeRenders: every kustomization renders, each overlay holds the
// base objects, and no object lands outside the bollard namespace.
func TestKustomizeRenders(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			m := kustomize(t, "overlays/"+overlay)
			for _, o := range m.objects {
				acc := o.(metav1.Object)
				kind := o.GetObjectKind().GroupVersionKind().Kind
				switch kind {
				case "Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass":
					if acc.GetNamespace() != "" {
						t.Errorf("%s %s has a namespace", kind, acc.GetName())
					}
				default:
					if acc.GetNamespace() != namespace {
						t.Errorf("%s %s is in namespace %q, want %s", kind, acc.GetName(), acc.GetNamespace(), namespace)
					}
				}
			}
			for _, want := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
				"Role", "RoleBinding", "IngressClass", "ConfigMap", "Service"} {
				if !strings.Contains(m.yaml, "\nkind: "+want+"\n") {
					t.Errorf("no %s in the rendered overlay", want)
				}
			}
			m.workload(t)
		})
	}
	kustomize(t, "base")
}
