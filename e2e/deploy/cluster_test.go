package deploy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestOverlaysOnTheCluster applies the manifests to the real test cluster:
// a server-side dry run of each overlay (with the Namespace created for
// real first, since namespaced objects cannot be dry-run into a namespace
// that does not exist), then the RBAC objects for real, asked with
// `kubectl auth can-i --as` what Bollard's service account may do, and
// finally the pod's own command lines run locally as that service account.
func TestOverlaysOnTheCluster(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	root := repoRoot(t)

	// The Namespace first, for real: its Pod Security labels then judge the
	// dry-run pods.
	if _, err := cluster.Kubectl(ctx, "", "apply", "-f", filepath.Join(root, "deploy", "base", "namespace.yaml")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t) })

	t.Run("dry-run", func(t *testing.T) {
		for _, overlay := range overlays {
			dir := filepath.Join(root, "deploy", "overlays", overlay)
			out, err := cluster.Kubectl(ctx, "", "apply", "-k", dir, "--dry-run=server")
			if err != nil {
				t.Errorf("kubectl apply -k %s --dry-run=server: %v", dir, err)
				continue
			}
			t.Logf("kubectl apply -k deploy/overlays/%s --dry-run=server:\n%s", overlay, out)
			// Warnings include Pod Security violations of the restricted level.
			if strings.Contains(out, "Warning:") {
				t.Errorf("%s: the dry run warns:\n%s", overlay, out)
			}
			w := kustomize(t, "overlays/"+overlay).workload(t)
			if want := strings.ToLower(w.kind) + ".apps/bollard created (server dry run)"; !strings.Contains(out, want) {
				t.Errorf("%s: no %q in:\n%s", overlay, want, out)
			}
		}
	})

	t.Run("can-i", func(t *testing.T) {
		applyRBAC(t)
		as := "--as=system:serviceaccount:" + namespace + ":" + serviceAccount
		allowed := [][]string{
			{"update", "ingresses.networking.k8s.io", "--subresource=status", "-n", "default"},
			{"create", "events", "-n", "default"},
			{"patch", "events", "-n", "default"},
			{"create", "events.events.k8s.io", "-n", "default"},
			{"patch", "events.events.k8s.io", "-n", "default"},
			{"get", "leases.coordination.k8s.io/bollard-leader", "-n", namespace},
			{"update", "leases.coordination.k8s.io/bollard-leader", "-n", namespace},
			{"create", "leases.coordination.k8s.io", "-n", namespace},
			{"update", "gateways.gateway.networking.k8s.io", "--subresource=status", "-n", "default"},
			{"update", "httproutes.gateway.networking.k8s.io", "--subresource=status", "-n", "default"},
			{"update", "gatewayclasses.gateway.networking.k8s.io", "--subresource=status"},
		}
		for _, verb := range []string{"get", "list", "watch"} {
			allowed = append(allowed, []string{verb, "ingressclasses.networking.k8s.io", "--all-namespaces"})
			allowed = append(allowed, []string{verb, "namespaces"}, []string{verb, "gatewayclasses.gateway.networking.k8s.io"})
			for _, res := range []string{"gateways", "httproutes", "referencegrants"} {
				allowed = append(allowed, []string{verb, res + ".gateway.networking.k8s.io", "--all-namespaces"})
			}
			for _, res := range []string{"ingresses.networking.k8s.io", "services", "endpointslices.discovery.k8s.io", "secrets", "configmaps"} {
				allowed = append(allowed, []string{verb, res, "--all-namespaces"}, []string{verb, res, "-n", "default"})
			}
		}
		denied := [][]string{
			{"create", "pods", "-n", "default"},
			{"delete", "secrets", "-n", "default"},
			{"update", "services", "-n", "default"},
			{"create", "secrets", "-n", namespace},
			{"list", "pods", "--all-namespaces"},
			{"update", "ingresses.networking.k8s.io", "-n", "default"},
			{"delete", "ingresses.networking.k8s.io", "-n", "default"},
			{"patch", "ingresses.networking.k8s.io", "--subresource=status", "-n", "default"},
			{"update", "configmaps", "-n", namespace},
			{"patch", "endpointslices.discovery.k8s.io", "-n", "default"},
			{"update", "leases.coordination.k8s.io/kube-controller-manager", "-n", "kube-system"},
			{"update", "leases.coordination.k8s.io/other", "-n", namespace},
			{"create", "leases.coordination.k8s.io", "-n", "default"},
			{"delete", "leases.coordination.k8s.io/bollard-leader", "-n", namespace},
			{"list", "nodes", "--all-namespaces"},
			{"create", "clusterrolebindings.rbac.authorization.k8s.io", "--all-namespaces"},
			{"escalate", "clusterroles.rbac.authorization.k8s.io", "--all-namespaces"},
			{"impersonate", "serviceaccounts", "-n", "default"},
			{"create", "serviceaccounts", "--subresource=token", "-n", namespace},
			{"delete", "events", "-n", "default"},
			{"update", "gateways.gateway.networking.k8s.io", "-n", "default"},
			{"update", "namespaces"},
		}
		check := func(args []string, want bool) {
			// RBAC changes reach the authorizer's cache within moments; retry briefly.
			var got bool
			var answer string
			err := framework.WaitFor(ctx, 10*time.Second, "can-i "+strings.Join(args, " "), func(ctx context.Context) (bool, error) {
				var err error
				got, answer, err = canI(ctx, append(args, as))
				return err == nil && got == want, err
			})
			t.Logf("kubectl auth can-i %s %s: %s", strings.Join(args, " "), as, answer)
			if err != nil {
				t.Errorf("can-i %s: got %v, want %v: %v", strings.Join(args, " "), got, want, err)
			}
		}
		for _, args := range allowed {
			check(args, true)
		}
		for _, args := range denied {
			check(args, false)
		}
	})

	t.Run("run-as-serviceaccount", runPodLocally)
}

// applyRBAC applies the ServiceAccount and the RBAC objects of deploy/base
// for real (the caller's cleanup removes them).
func applyRBAC(t *testing.T) {
	t.Helper()
	rbac := selectKinds(kustomize(t, "base"), "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
	if out, err := cluster.Kubectl(context.Background(), rbac, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the RBAC objects: %v\n%s", err, out)
	}
}

// canI runs `kubectl auth can-i`, which prints yes or no (its last line)
// and exits 0 for yes and 1 for no.
func canI(ctx context.Context, args []string) (bool, string, error) {
	out, err := cluster.Kubectl(ctx, "", append([]string{"auth", "can-i"}, args...)...)
	answer := strings.TrimSpace(out)
	if i := strings.LastIndex(answer, "\n"); i >= 0 {
		answer = answer[i+1:]
	}
	var ee *exec.ExitError
	switch {
	case err == nil && answer == "yes":
		return true, answer, nil
	case errors.As(err, &ee) && answer == "no":
		return false, answer, nil
	}
	return false, answer, fmt.Errorf("unexpected answer %q: %v\n%s", answer, err, out)
}

// selectKinds returns the documents of m whose kind is one of kinds.
func selectKinds(m *manifests, kinds ...string) string {
	var docs []string
	for _, doc := range splitDocs(m.yaml) {
		for _, k := range kinds {
			if strings.Contains("\n"+doc+"\n", "\nkind: "+k+"\n") {
				docs = append(docs, doc)
				break
			}
		}
	}
	return strings.Join(docs, "\n---\n") + "\n"
}

// cleanup deletes the cluster-scoped RBAC objects and the namespace (and
// with it everything in it), and waits until the namespace is gone.
func cleanup(t *testing.T) {
	ctx := context.Background()
	rbac := cluster.Client.RbacV1()
	if err := rbac.ClusterRoleBindings().Delete(ctx, "bollard", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete ClusterRoleBinding: %v", err)
	}
	if err := rbac.ClusterRoles().Delete(ctx, "bollard", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete ClusterRole: %v", err)
	}
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace: %v", err)
	}
	if err := cluster.WaitNamespaceGone(ctx, namespace, time.Minute); err != nil {
		t.Error(err)
	}
}
