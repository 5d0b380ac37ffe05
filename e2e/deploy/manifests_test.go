package deploy

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

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

// defaultLine is the HAProxy line the manifests and the Dockerfile pin.
const defaultLine = "3.4"

// kustomizationImages are the images: entries of a kustomization.
type kustomizationImages struct {
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	} `json:"images"`
}

// TestHAProxyImagePin: the HAProxy image is pinned in one place, one
// images: entry of the component both overlays share, to a patch release
// of the default line of the official image; the pod template names the
// image without a tag, and every container of a rendered overlay that runs
// HAProxy runs exactly that pin.
func TestHAProxyImagePin(t *testing.T) {
	root := filepath.Join(repoRoot(t), "deploy")
	const pinFile = "components/pod/kustomization.yaml"
	var pin string
	untagged := regexp.MustCompile(`(?m)^[\s-]*image:\s*["']?(haproxy\S*?)["']?\s*$`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range untagged.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "haproxy" {
				t.Errorf("deploy/%s: image %s; name the image haproxy and pin it in deploy/%s", rel, m[1], pinFile)
			}
		}
		if d.Name() != "kustomization.yaml" {
			return nil
		}
		var k kustomizationImages
		if err := yaml.Unmarshal(b, &k); err != nil {
			return fmt.Errorf("deploy/%s: %w", rel, err)
		}
		for _, img := range k.Images {
			if img.Name != "haproxy" && img.NewName != "haproxy" && !strings.HasPrefix(img.NewName, "haproxy:") {
				continue
			}
			switch {
			case filepath.ToSlash(rel) != pinFile:
				t.Errorf("deploy/%s pins the haproxy image too; the one pin is in deploy/%s", rel, pinFile)
			case pin != "":
				t.Errorf("deploy/%s has more than one haproxy images: entry", rel)
			case img.Name != "haproxy" || img.NewName != "" && img.NewName != "haproxy" || img.Digest != "":
				t.Errorf("deploy/%s: the haproxy entry must be name: haproxy with a newTag only, got %+v", rel, img)
			default:
				pin = "haproxy:" + img.NewTag
				if m := regexp.MustCompile(`^(\d+\.\d+)\.\d+$`).FindStringSubmatch(img.NewTag); m == nil || m[1] != defaultLine {
					t.Errorf("deploy/%s: newTag %q must be a patch release of HAProxy %s (%s.N)", rel, img.NewTag, defaultLine, defaultLine)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pin == "" {
		t.Fatalf("deploy/%s has no images: entry for haproxy", pinFile)
	}
	if !slices.Contains(supportedLines, defaultLine) {
		t.Errorf("the default line %s is not a supported line %v", defaultLine, supportedLines)
	}
	for _, overlay := range overlays {
		pod := kustomize(t, "overlays/"+overlay).workload(t).template.Spec
		if got := container(t, &pod, "haproxy").Image; got != pin {
			t.Errorf("%s: the haproxy container runs %s, the pin is %s", overlay, got, pin)
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			if repo, _, _ := strings.Cut(c.Image, ":"); repo == "haproxy" && c.Image != pin {
				t.Errorf("%s: container %s runs %s, the pin is %s", overlay, c.Name, c.Image, pin)
			}
		}
	}
}
