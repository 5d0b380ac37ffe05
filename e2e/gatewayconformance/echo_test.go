package gatewayconformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
	"sigs.k8s.io/yaml"

	"github.com/bollard-io/bollard/e2e/framework"
)

// TestEchoStandsInForEchoBasic runs the suite's own infra-backend-v1
// Deployment (base/manifests.yaml, in a namespace of its own) and reads one
// answer from its pod, on the port its Service targets, with the suite's
// round tripper: the netns kubelet's echo must listen there and answer what
// the suite compares (path, host, method, namespace, pod). Without Bollard,
// so that a backend problem shows as one.
func TestEchoStandsInForEchoBasic(t *testing.T) {
	framework.Need(t, cluster)
	ctx := context.Background()
	dep, svc, err := baseBackend("infra-backend-v1")
	if err != nil {
		t.Fatal(err)
	}
	ns := cluster.CreateNamespace(t, "gwecho")
	dep.Namespace, dep.ResourceVersion = ns, ""
	dep.Spec.Replicas = ptr.To[int32](1)
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := svc.Spec.Ports[0].TargetPort.IntValue()
	if port == 0 {
		t.Fatalf("Service %s targets port %q, not a number", svc.Name, svc.Spec.Ports[0].TargetPort.String())
	}
	var pod corev1.Pod
	err = framework.WaitFor(ctx, time.Minute, "a Ready pod of "+dep.Name, func(ctx context.Context) (bool, error) {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Status.PodIP != "" {
					pod = p
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("%d pods, none Ready", len(pods.Items))
	})
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(port)), Path: "/echo", RawQuery: "a=b"}
	rt := &roundtripper.DefaultRoundTripper{TimeoutConfig: config.DefaultTimeoutConfig()}
	req, res, err := rt.CaptureRoundTrip(roundtripper.Request{T: t, URL: u, Host: "echo.example", Protocol: "HTTP"})
	if err != nil {
		t.Fatalf("the suite's round tripper on %s (the port Service %s targets): %v", u.Host, svc.Name, err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if req.Path != "/echo?a=b" || req.Host != "echo.example" || req.Method != "GET" || req.Namespace != ns || req.Pod != pod.Name {
		t.Errorf("the suite read %+v, want path /echo?a=b, host echo.example, namespace %s, pod %s", req, ns, pod.Name)
	}
}

// baseBackend reads the Deployment and the Service called name from the
// suite's base manifests.
func baseBackend(name string) (*appsv1.Deployment, *corev1.Service, error) {
	data, err := conformance.Manifests.ReadFile("base/manifests.yaml")
	if err != nil {
		return nil, nil, err
	}
	var dep *appsv1.Deployment
	var svc *corev1.Service
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("base/manifests.yaml: %w", err)
		}
		var meta struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, nil, fmt.Errorf("base/manifests.yaml: %w", err)
		}
		if meta.Metadata.Name != name {
			continue
		}
		switch meta.Kind {
		case "Deployment":
			dep = &appsv1.Deployment{}
			err = yaml.UnmarshalStrict(doc, dep)
		case "Service":
			svc = &corev1.Service{}
			err = yaml.UnmarshalStrict(doc, svc)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("base/manifests.yaml %s %s: %w", meta.Kind, name, err)
		}
	}
	if dep == nil || svc == nil || len(svc.Spec.Ports) == 0 {
		return nil, nil, fmt.Errorf("base/manifests.yaml has no Deployment and Service %s with a port", name)
	}
	return dep, svc, nil
}
