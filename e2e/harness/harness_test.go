// Package harness proves the e2e test harness itself: the test cluster, the netns kubelet,
// the echo backend and a clean teardown.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is the test binary's cluster, set by TestMain.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.0.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

const echoPort = 8080

func addr(ip fmt.Stringer) string { return net.JoinHostPort(ip.String(), strconv.Itoa(echoPort)) }

// checkAnswers asserts that every endpoint is in the subnet and answers with its own pod name.
func checkAnswers(ctx context.Context, t *testing.T, ns string, eps []framework.Endpoint) {
	t.Helper()
	for _, ep := range eps {
		if !cluster.Subnet.Contains(ep.Addr) {
			t.Errorf("endpoint %s outside the subnet %s", ep.Addr, cluster.Subnet)
		}
		e, err := framework.GetEcho(ctx, framework.Request{Addr: addr(ep.Addr), Path: "/who?x=1", Host: "web.example"})
		if err != nil {
			t.Errorf("GET %s: %v", ep.Addr, err)
			continue
		}
		if e.Pod != ep.Pod || e.Namespace != ns || e.Service != "web" {
			t.Errorf("%s answered pod %q ns %q service %q, want pod %q ns %q service web", ep.Addr, e.Pod, e.Namespace, e.Service, ep.Pod, ns)
		}
		if e.Path != "/who?x=1" || e.Host != "web.example" {
			t.Errorf("%s echoed path %q host %q", ep.Addr, e.Path, e.Host)
		}
	}
}

func TestDeploymentEndpointsFollowScale(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns := cluster.CreateNamespace(t, "harness-scale")

	start := time.Now()
	if err := cluster.CreateEcho(ctx, ns, "web", 2, echoPort); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2 ready endpoints after %s: %v", time.Since(start).Round(time.Millisecond), eps)
	checkAnswers(ctx, t, ns, eps)

	start = time.Now()
	if err := cluster.Scale(ctx, ns, "web", 5); err != nil {
		t.Fatal(err)
	}
	eps, err = cluster.ReadyEndpoints(ctx, ns, "web", 5, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("5 ready endpoints after %s", time.Since(start).Round(time.Millisecond))
	checkAnswers(ctx, t, ns, eps)

	start = time.Now()
	if err := cluster.Scale(ctx, ns, "web", 1); err != nil {
		t.Fatal(err)
	}
	left, err := cluster.ReadyEndpoints(ctx, ns, "web", 1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 endpoint after %s", time.Since(start).Round(time.Millisecond))
	checkAnswers(ctx, t, ns, left)
	for _, ep := range eps {
		if ep.Addr == left[0].Addr {
			continue
		}
		err := framework.WaitFor(ctx, 10*time.Second, "backend "+ep.Addr.String()+" stopped", func(ctx context.Context) (bool, error) {
			_, err := framework.Do(ctx, framework.Request{Addr: addr(ep.Addr), Timeout: time.Second})
			if errors.Is(err, syscall.ECONNREFUSED) {
				return true, nil
			}
			return false, fmt.Errorf("want connection refused, got %v", err)
		})
		if err != nil {
			t.Error(err)
		}
	}
}

func TestReadinessAnnotation(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns := cluster.CreateNamespace(t, "harness-ready")
	if err := cluster.CreateEcho(ctx, ns, "web", 2, echoPort); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	target := eps[0].Pod
	set := func(v string) {
		t.Helper()
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"testcluster.bollard.io/ready":%q}}}`, v)
		if _, err := cluster.Client.CoreV1().Pods(ns).Patch(ctx, target, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	set("false")
	err = framework.WaitFor(ctx, 10*time.Second, "pod "+target+" not ready in the slice", func(ctx context.Context) (bool, error) {
		eps, err := cluster.Endpoints(ctx, ns, "web")
		if err != nil {
			return false, err
		}
		for _, e := range eps {
			if e.Pod == target {
				return !e.Ready, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, target, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionFalse {
			t.Errorf("pod Ready condition is %s, want False", c.Status)
		}
	}
	set("true")
	if _, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestBackendRestartsWhenItDies(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns := cluster.CreateNamespace(t, "harness-restart")
	if err := cluster.CreateEcho(ctx, ns, "web", 1, echoPort); err != nil {
		t.Fatal(err)
	}
	eps, err := cluster.ReadyEndpoints(ctx, ns, "web", 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := backendPID(eps[0].Pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill backend %d: %v", pid, err)
	}
	err = framework.WaitFor(ctx, 20*time.Second, "restarted backend", func(ctx context.Context) (bool, error) {
		pod, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, eps[0].Pod, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(pod.Status.ContainerStatuses) == 0 || pod.Status.ContainerStatuses[0].RestartCount < 1 {
			return false, errors.New("restart count still 0")
		}
		e, err := framework.GetEcho(ctx, framework.Request{Addr: addr(eps[0].Addr), Timeout: time.Second})
		if err != nil {
			return false, err
		}
		return e.Pod == eps[0].Pod, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// backendPID finds the echo process of a pod through /proc (it runs with --pod NAME).
func backendPID(pod string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("read /proc: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--pod" && args[i+1] == pod && strings.HasSuffix(args[0], "/echo") {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no echo process for pod %s", pod)
}

func TestKubectlServerDryRunDaemonSet(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns := cluster.CreateNamespace(t, "harness-kubectl")
	out, err := cluster.Kubectl(ctx, "", "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"gitVersion": "v1.37.2"`) {
		t.Errorf("kubectl version does not report v1.37.2:\n%s", out)
	}
	ds := `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: bollard.io/agent:test
`
	out, err = cluster.Kubectl(ctx, ds, "apply", "--dry-run=server", "-n", ns, "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "daemonset.apps/agent") || !strings.Contains(out, "server dry run") {
		t.Errorf("unexpected kubectl output: %s", out)
	}
}

func TestNamespaceDeletionCompletes(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	ns := cluster.CreateNamespace(t, "harness-delete")
	manifest := fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: data
data: {k: v}
---
%s`, deploymentYAML("web", 2))
	if err := cluster.Apply(ctx, ns, manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitNamespaceGone(ctx, ns, 60*time.Second); err != nil {
		t.Fatal(err)
	}
}

func deploymentYAML(name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: echo
        image: bollard.io/echo:test
        ports: [{containerPort: %[3]d}]
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: %[3]d}]
`, name, replicas, echoPort)
}
