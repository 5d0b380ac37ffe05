package deploy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
)

// runPodLocally runs the daemonset overlay's pod on this machine, from the
// manifests' own command lines: the bootstrap init container, then HAProxy
// and `bollard controller --haproxy-mode external` beside it, sharing a
// config and a runtime directory. Only directories, ports and the bind
// address are rewritten, the image's haproxy is the HAProxy the tests run
// (HAPROXY_BIN, else haproxy on PATH), and the controller talks to the API
// server as the bollard service account (impersonated), so the RBAC
// objects applied by the caller are all it may use. It serves an Ingress, holds the Lease,
// writes Ingress status and records Events. Like in the pod, every process
// runs as the pod's non-root user.
func runPodLocally(t *testing.T) {
	ctx := context.Background()
	root := repoRoot(t)
	bollard := filepath.Join(root, "bin", "bollard")
	if _, err := os.Stat(bollard); err != nil {
		t.Fatalf("%s is missing: run make build", bollard)
	}
	m := kustomize(t, "overlays/daemonset")
	pod := m.workload(t).template.Spec
	const podName = "bollard-local-0"
	applyRBAC(t)
	others := selectKinds(kustomize(t, "base"), "ConfigMap", "Service", "IngressClass")
	if out, err := cluster.Kubectl(ctx, others, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the ConfigMap, Service and IngressClass: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = cluster.Client.NetworkingV1().IngressClasses().Delete(context.Background(), "bollard", metav1.DeleteOptions{})
	})
	// A load balancer address for --publish-service (data only; nothing connects to it).
	lbIP := "198.18.5.250"
	svc, err := cluster.Client.CoreV1().Services(namespace).Get(ctx, "bollard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: lbIP}}
	if _, err := cluster.Client.CoreV1().Services(namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The processes run as the pod's user, in a directory of theirs.
	uid, gid := podUser(t, &pod)
	dir, err := os.MkdirTemp("", "bollard-pod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	cred := &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
	free := func() string { return strconv.Itoa(freePort(t)) }
	rw := rewriter{
		dirs:  map[string]string{"/etc/haproxy": filepath.Join(dir, "etc"), "/run/haproxy": filepath.Join(dir, "run")},
		flags: map[string]string{"http-port": free(), "https-port": free(), "stats-port": free(), "health-address": "127.0.0.1:" + free()},
		env:   map[string]string{"POD_NAME": podName, "POD_NAMESPACE": namespace},
	}
	rw.flags["metrics-address"] = rw.flags["health-address"]
	kubeconfig := impersonatingKubeconfig(t, filepath.Join(dir, "kubeconfig"))
	if err := os.Chown(kubeconfig, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}

	// The image's haproxy is the HAProxy the tests run (HAPROXY_BIN).
	haproxyBin := framework.HAProxyBinary(t)
	// The init container.
	boot := container(t, &pod, "bootstrap")
	args := append(rw.args(t, boot, mustArgs(t, boot)), "--bind-address=127.0.0.1", "--haproxy-binary="+haproxyBin)
	bootCmd := exec.Command(bollard, args...)
	bootCmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := bootCmd.CombinedOutput(); err != nil {
		t.Fatalf("bollard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// HAProxy, as the haproxy container runs it.
	hc := container(t, &pod, "haproxy")
	hargs := rw.args(t, hc, append(append([]string{}, hc.Command...), hc.Args...))
	if hargs[0] != "haproxy" {
		t.Fatalf("the haproxy container runs %q, not the image's haproxy", hargs[0])
	}
	hargs[0] = haproxyBin
	startProcess(t, cred, filepath.Join(dir, "haproxy.log"), hargs[0], hargs[1:]...)
	// The controller.
	bc := container(t, &pod, "bollard")
	cargs := append(rw.args(t, bc, mustArgs(t, bc)), "--bind-address=127.0.0.1", "--kubeconfig="+kubeconfig,
		"--haproxy-binary="+haproxyBin)
	logFile := filepath.Join(dir, "bollard.log")
	startProcess(t, cred, logFile, bollard, cargs...)
	t.Logf("bollard %s", strings.Join(cargs, " "))
	logOnFailure(t, logFile)

	// An echo app and its Ingress in a namespace of the test.
	ns := cluster.CreateNamespace(t, "deploy-run")
	if err := cluster.CreateEcho(ctx, ns, "web", 2, 8080); err != nil {
		t.Fatal(err)
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("bollard"),
			Rules: []networkingv1.IngressRule{{Host: "web.deploy.test", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
				}}},
			}}},
		},
	}
	if _, err := cluster.Client.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ReadyEndpoints(ctx, ns, "web", 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	health := "http://" + rw.flags["health-address"]
	for _, path := range []string{"/readyz", "/healthz"} {
		if err := waitHTTP(ctx, health+path, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitHTTP(ctx, "http://127.0.0.1:"+rw.flags["stats-port"]+"/healthz", 10*time.Second); err != nil {
		t.Fatalf("HAProxy's health frontend: %v", err)
	}
	// HAProxy made its sockets as the pod's user.
	for _, sock := range []string{"master.sock", "admin.sock"} {
		info, err := os.Stat(filepath.Join(dir, "run", sock))
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || st.Uid != uid {
			t.Errorf("%s is not owned by uid %d", sock, uid)
		}
	}
	// Traffic through HAProxy reaches the app's pods.
	seen := map[string]bool{}
	err = framework.WaitFor(ctx, 30*time.Second, "both pods served through HAProxy", func(ctx context.Context) (bool, error) {
		e, err := framework.GetEcho(ctx, framework.Request{Addr: "127.0.0.1:" + rw.flags["http-port"], Host: "web.deploy.test", Path: "/x"})
		if err != nil {
			return false, err
		}
		if e.Namespace != ns || e.Service != "web" {
			return false, fmt.Errorf("served by %s/%s %s", e.Namespace, e.Service, e.Pod)
		}
		seen[e.Pod] = true
		return len(seen) == 2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The Lease, the Ingress status and an Event, all written as the service account.
	err = framework.WaitFor(ctx, 30*time.Second, "the Lease, Ingress status and a Served event", func(ctx context.Context) (bool, error) {
		lease, err := cluster.Client.CoordinationV1().Leases(namespace).Get(ctx, "bollard-leader", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if holder := ptr.Deref(lease.Spec.HolderIdentity, ""); holder != podName {
			return false, fmt.Errorf("the Lease is held by %q", holder)
		}
		got, err := cluster.Client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if lb := got.Status.LoadBalancer.Ingress; len(lb) != 1 || lb[0].IP != lbIP {
			return false, fmt.Errorf("Ingress status %+v, want %s", lb, lbIP)
		}
		events, err := cluster.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web,involvedObject.kind=Ingress"})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Source.Component == "bollard" {
				return true, nil
			}
		}
		return false, fmt.Errorf("no Event from bollard on the Ingress (%d events)", len(events.Items))
	})
	if err != nil {
		t.Error(err)
	}
	if log, _ := os.ReadFile(logFile); strings.Contains(string(log), "forbidden") {
		t.Errorf("the controller was refused something by RBAC:\n%s", grepLines(string(log), "forbidden"))
	}
}

// rewriter maps the pod's paths, ports and $(VAR) references to local ones.
type rewriter struct {
	dirs  map[string]string // pod path → local path
	flags map[string]string // flag name → local value
	env   map[string]string // fieldRef-backed env values
}

func (r rewriter) args(t *testing.T, c *corev1.Container, args []string) []string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		if v, ok := r.env[e.Name]; ok && e.ValueFrom != nil {
			env[e.Name] = v
		} else if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	out := make([]string, 0, len(args))
	for _, a := range args {
		for name, v := range env {
			a = strings.ReplaceAll(a, "$("+name+")", v)
		}
		if name, _, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok && strings.HasPrefix(a, "--") {
			if v, ok := r.flags[name]; ok {
				a = "--" + name + "=" + v
			}
		}
		for from, to := range r.dirs {
			if a == from || strings.HasPrefix(a, from+"/") || strings.Contains(a, "="+from) {
				a = strings.Replace(a, from, to, 1)
			}
		}
		if strings.Contains(a, "$(") {
			t.Fatalf("container %s: unexpanded reference in %q", c.Name, a)
		}
		out = append(out, a)
	}
	return out
}

// impersonatingKubeconfig writes a copy of the cluster's kubeconfig that
// acts as the bollard service account.
func impersonatingKubeconfig(t *testing.T, path string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = "system:serviceaccount:" + namespace + ":" + serviceAccount
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// podUser is the pod's runAsUser and runAsGroup.
func podUser(t *testing.T, pod *corev1.PodSpec) (uint32, uint32) {
	t.Helper()
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsUser == nil || sc.RunAsGroup == nil {
		t.Fatal("the pod sets no runAsUser and runAsGroup")
	}
	return uint32(*sc.RunAsUser), uint32(*sc.RunAsGroup)
}

// startProcess runs a command as cred in its own process group until the
// test ends (SIGTERM, then SIGKILL after 15 s).
func startProcess(t *testing.T, cred *syscall.Credential, logPath, name string, args ...string) {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logFile.Close()
	})
}

func logOnFailure(t *testing.T, path string) {
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(path)
			t.Logf("%s:\n%s", path, log)
		}
	})
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return framework.WaitFor(ctx, timeout, "200 from "+url, func(ctx context.Context) (bool, error) {
		resp, err := client.Get(url)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s: %s", url, resp.Status)
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	return haproxytest.FreePort(t)
}

func grepLines(s, word string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
