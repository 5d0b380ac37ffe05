package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// GatewayAPIModule is the Go module whose config/crd/standard the clusters get.
const GatewayAPIModule = "sigs.k8s.io/gateway-api"

// bundleVersionAnnotation marks the Gateway API release of each of its CRDs.
const bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// gatewayManifest is one file of config/crd/standard.
type gatewayManifest struct {
	path string
	text string
	// crds names the CRDs of the file with their bundle version; empty for
	// files of other kinds (the ValidatingAdmissionPolicy).
	crds map[string]string
}

// GatewayCRDDir is config/crd/standard of the Gateway API module in go.mod, read
// from the module cache: the CRDs are applied from there, never copied into the
// repository.
func GatewayCRDDir(ctx context.Context, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", GatewayAPIModule)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go list -m %s: %w: %s", GatewayAPIModule, err, ee.Stderr)
		}
		return "", fmt.Errorf("go list -m %s: %w", GatewayAPIModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%s is not in the module cache: run go mod download %s", GatewayAPIModule, GatewayAPIModule)
	}
	return filepath.Join(dir, "config", "crd", "standard"), nil
}

// readGatewayManifests reads every YAML file of dir, in name order.
func readGatewayManifests(dir string) ([]gatewayManifest, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	sort.Strings(paths)
	var out []gatewayManifest
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		m := gatewayManifest{path: p, text: string(data), crds: map[string]string{}}
		for i, doc := range splitYAML(m.text) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				return nil, fmt.Errorf("%s document %d: %w", p, i, err)
			}
			if obj.GetKind() == "CustomResourceDefinition" {
				m.crds[obj.GetName()] = obj.GetAnnotations()[bundleVersionAnnotation]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// InstallGatewayCRDs applies the standard-channel Gateway API CRDs of the
// module in go.mod (server-side: the HTTPRoute CRD is too large for the
// last-applied annotation) and waits until each is Established. When every
// CRD is there at the same bundle version already, it applies nothing. Other
// files of the directory (the ValidatingAdmissionPolicy that guards upgrades)
// are applied too, but only logged when this API server refuses them.
func (c *Cluster) InstallGatewayCRDs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	dir, err := GatewayCRDDir(ctx, c.RepoRoot)
	if err != nil {
		return err
	}
	manifests, err := readGatewayManifests(dir)
	if err != nil {
		return err
	}
	want := map[string]string{}
	var crdDocs []string
	for _, m := range manifests {
		for name, version := range m.crds {
			want[name] = version
		}
		if len(m.crds) > 0 {
			crdDocs = append(crdDocs, m.text)
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	current, err := c.gatewayCRDsCurrent(ctx, want)
	if err != nil {
		return err
	}
	if current {
		c.Log.Info("gateway API CRDs already installed", "crds", len(want), "elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	}
	// One kubectl for every CRD: each run costs a process start and a discovery.
	if _, err := c.Kubectl(ctx, strings.Join(crdDocs, "\n---\n"), "apply", "--server-side", "--force-conflicts",
		"--field-manager", FieldManager, "-f", "-"); err != nil {
		return fmt.Errorf("apply gateway API CRDs from %s: %w", dir, err)
	}
	for _, m := range manifests {
		if len(m.crds) > 0 {
			continue
		}
		if _, err := c.Kubectl(ctx, m.text, "apply", "--server-side", "--force-conflicts",
			"--field-manager", FieldManager, "-f", "-"); err != nil {
			c.Log.Warn("gateway API manifest refused by this API server; left out", "file", filepath.Base(m.path), "err", err)
		}
	}
	err = WaitFor(ctx, time.Minute, "gateway API CRDs Established", func(ctx context.Context) (bool, error) {
		return c.gatewayCRDsCurrent(ctx, want)
	})
	if err != nil {
		return err
	}
	if c.Mapper != nil {
		c.Mapper.Reset()
	}
	c.Log.Info("gateway API CRDs installed", "crds", len(want), "dir", dir, "elapsed", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// gatewayCRDsCurrent tells whether every CRD of want exists at its bundle
// version and is Established.
func (c *Cluster) gatewayCRDsCurrent(ctx context.Context, want map[string]string) (bool, error) {
	list, err := c.Dynamic.Resource(crdResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("list CRDs: %w", err)
	}
	have := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		have[list.Items[i].GetName()] = &list.Items[i]
	}
	for name, version := range want {
		crd := have[name]
		if crd == nil || crd.GetAnnotations()[bundleVersionAnnotation] != version || !crdEstablished(crd) {
			return false, nil
		}
	}
	return true, nil
}

func crdEstablished(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
