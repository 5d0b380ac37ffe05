package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// FieldManager is the server-side apply field manager of the tests.
const FieldManager = "bollard-e2e"

// PollInterval is how often WaitFor checks.
const PollInterval = 100 * time.Millisecond

// WaitFor polls cond until it returns true, an error, or timeout passes. The last error
// from cond is returned with the timeout, to say what was still wrong.
func WaitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("timed out after %s waiting for %s: %w", timeout, what, last)
			}
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(PollInterval):
		}
	}
}

// Apply server-side applies every object of a multi-document YAML. Objects without a
// namespace get namespace (when it is not empty and the kind is namespaced).
func (c *Cluster) Apply(ctx context.Context, namespace, manifest string) error {
	for i, doc := range splitYAML(manifest) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			c.Mapper.Reset()
			if mapping, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				return fmt.Errorf("document %d: map %s: %w", i, gvk, err)
			}
		}
		ri := c.Dynamic.Resource(mapping.Resource)
		var target interface {
			Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*unstructured.Unstructured, error)
		} = ri
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(namespace)
			}
			target = ri.Namespace(obj.GetNamespace())
		}
		body, err := obj.MarshalJSON()
		if err != nil {
			return fmt.Errorf("document %d: encode: %w", i, err)
		}
		if _, err := target.Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)}); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// splitYAML splits a multi-document YAML stream on lines that are exactly "---".
func splitYAML(s string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}

// CreateNamespace creates a namespace named prefix-XXXXX and deletes it when the test ends.
func (c *Cluster) CreateNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		err := c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// EchoDeployment returns a Deployment of echo pods labelled app=name, listening on port
// (the netns kubelet runs bin/echo for them whatever the image).
func EchoDeployment(namespace, name string, replicas int32, port int32) *appsv1.Deployment {
	return EchoDeploymentWithEnv(namespace, name, replicas, port, nil)
}

// EchoDeploymentWithEnv is EchoDeployment whose echo container has env, in name order. The
// netns kubelet passes the literal values whose names start with ECHO_ to the echo process:
// ECHO_TLS_CERT and ECHO_TLS_KEY (PEM text) turn on TLS on the pod's port, ECHO_GRPC_HEALTH
// sets the gRPC health status (SERVING, NOT_SERVING).
func EchoDeploymentWithEnv(namespace, name string, replicas, port int32, env map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	var vars []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(env)) {
		vars = append(vars, corev1.EnvVar{Name: k, Value: env[k]})
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "echo", Image: "bollard.io/echo:test",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
					Env:   vars,
				}}},
			},
		},
	}
}

// EchoService returns a ClusterIP Service selecting app=name, port -> targetPort.
func EchoService(namespace, name string, port, targetPort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{
				Name: "http", Port: port, TargetPort: intstr.FromInt32(targetPort), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// CreateEcho creates an echo Deployment and its Service in namespace.
func (c *Cluster) CreateEcho(ctx context.Context, namespace, name string, replicas, port int32) error {
	return c.CreateEchoWithEnv(ctx, namespace, name, replicas, port, nil)
}

// CreateEchoWithEnv creates an echo Deployment whose pods have env (see
// EchoDeploymentWithEnv) and its Service in namespace.
func (c *Cluster) CreateEchoWithEnv(ctx context.Context, namespace, name string, replicas, port int32, env map[string]string) error {
	dep := EchoDeploymentWithEnv(namespace, name, replicas, port, env)
	if _, err := c.Client.AppsV1().Deployments(namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create deployment %s/%s: %w", namespace, name, err)
	}
	if _, err := c.Client.CoreV1().Services(namespace).Create(ctx, EchoService(namespace, name, 80, port), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", namespace, name, err)
	}
	return nil
}

// Scale sets the replicas of a Deployment, retrying when the Deployment
// changed between read and write (its controller updates it often).
func (c *Cluster) Scale(ctx context.Context, namespace, name string, replicas int32) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := c.Client.AppsV1().Deployments(namespace).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = replicas
		_, err = c.Client.AppsV1().Deployments(namespace).UpdateScale(ctx, name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("scale %s/%s: %w", namespace, name, err)
	}
	return nil
}

// Endpoint is one address of a Service's EndpointSlices.
type Endpoint struct {
	Addr        netip.Addr
	Ready       bool
	Terminating bool
	Pod         string
}

// Pods returns the pod names of eps.
func Pods(eps []Endpoint) []string {
	pods := make([]string, len(eps))
	for i, ep := range eps {
		pods[i] = ep.Pod
	}
	return pods
}

// Endpoints lists the addresses of every EndpointSlice of a Service, sorted.
func (c *Cluster) Endpoints(ctx context.Context, namespace, service string) ([]Endpoint, error) {
	list, err := c.Client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + service,
	})
	if err != nil {
		return nil, fmt.Errorf("list endpoint slices of %s/%s: %w", namespace, service, err)
	}
	var out []Endpoint
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					return nil, fmt.Errorf("endpoint slice %s: %w", s.Name, err)
				}
				ep := Endpoint{Addr: ip, Ready: ptr.Deref(e.Conditions.Ready, true),
					Terminating: ptr.Deref(e.Conditions.Terminating, false)}
				if e.TargetRef != nil {
					ep.Pod = e.TargetRef.Name
				}
				out = append(out, ep)
			}
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return a.Addr.Compare(b.Addr) })
	return out, nil
}

// ReadyEndpoints waits until a Service has exactly n ready endpoints (and no others) and
// returns them.
func (c *Cluster) ReadyEndpoints(ctx context.Context, namespace, service string, n int, timeout time.Duration) ([]Endpoint, error) {
	var got []Endpoint
	err := WaitFor(ctx, timeout, fmt.Sprintf("%d ready endpoints of %s/%s", n, namespace, service), func(ctx context.Context) (bool, error) {
		eps, err := c.Endpoints(ctx, namespace, service)
		if err != nil {
			return false, err
		}
		ready := 0
		for _, e := range eps {
			if e.Ready {
				ready++
			}
		}
		got = eps
		if ready == n && len(eps) == n {
			return true, nil
		}
		return false, fmt.Errorf("have %d endpoints, %d ready: %v", len(eps), ready, eps)
	})
	return got, err
}

// WaitNamespaceGone waits until a namespace no longer exists.
func (c *Cluster) WaitNamespaceGone(ctx context.Context, name string, timeout time.Duration) error {
	return WaitFor(ctx, timeout, "namespace "+name+" deleted", func(ctx context.Context) (bool, error) {
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return false, fmt.Errorf("namespace is %s", ns.Status.Phase)
	})
}

// Kubectl runs bin/kubectl against the cluster with stdin (may be empty) and returns its
// combined output.
func (c *Cluster) Kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	kubectl := filepath.Join(c.BinDir, "kubectl")
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out.String())
		}
		return out.String(), fmt.Errorf("kubectl %s (run make testcluster?): %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}
