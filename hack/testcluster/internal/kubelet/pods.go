package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// defaultPort is where a backend listens when its Pod declares no containerPort.
const defaultPort = 8080

// echoEnvPrefix marks the container env values passed to the echo process (ECHO_TLS_CERT,
// ECHO_GRPC_HEALTH, ...).
const echoEnvPrefix = "ECHO_"

func everything() labels.Selector { return labels.Everything() }

// syncPod brings one Pod to its wanted state: bound, backend running, status reported, or
// backend stopped and deletion finished.
func (k *Kubelet) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("split key %q: %w", key, err)
	}
	pod, err := k.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		k.backends.stop(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s: %w", key, err)
	}
	switch {
	case pod.Spec.NodeName == "":
		if pod.DeletionTimestamp != nil {
			return nil
		}
		return k.bind(ctx, pod)
	case pod.Spec.NodeName != k.st.NodeName:
		return nil
	case pod.DeletionTimestamp != nil:
		k.backends.stop(key)
		return k.finishDelete(ctx, pod)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		k.backends.stop(key)
		return nil
	}
	if b := k.backends.get(key); b != nil && b.spec.UID != pod.UID {
		k.backends.stop(key)
	}
	var want netip.Addr
	if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
		want = ip
	}
	b, err := k.backends.ensure(ctx, specFor(pod), want)
	if err != nil {
		return err
	}
	if b.alive() && !b.ready {
		if b.ready = waitListening(ctx, b, 200*time.Millisecond); !b.ready {
			k.queue.AddAfter(key, time.Second)
		}
	}
	return k.reportStatus(ctx, pod, b)
}

// specFor derives a backend's identity and port from Pod metadata.
func specFor(pod *corev1.Pod) backendSpec {
	service := pod.Labels["bollard.io/service"]
	if service == "" {
		service = pod.Labels["app"]
	}
	if service == "" {
		service = pod.Labels["app.kubernetes.io/name"]
	}
	ingress := pod.Annotations["bollard.io/ingress"]
	if ingress == "" {
		ingress = pod.Labels["bollard.io/ingress"]
	}
	return backendSpec{
		Key: pod.Namespace + "/" + pod.Name, UID: pod.UID, Namespace: pod.Namespace, Pod: pod.Name,
		Service: service, Ingress: ingress, Port: podPort(pod), Env: echoEnv(pod),
	}
}

// echoEnv lists as NAME=value the literal env values (env[].value; valueFrom is not
// resolved) of the Pod's containers whose names start with ECHO_, in spec order: for a
// name given twice the last one wins, as in the process environment.
func echoEnv(pod *corev1.Pod) []string {
	var env []string
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil && strings.HasPrefix(e.Name, echoEnvPrefix) {
				env = append(env, e.Name+"="+e.Value)
			}
		}
	}
	return env
}

// echoBasicImage is the Gateway API conformance suite's backend. Its Pods declare no
// containerPort: it listens on 3000 (HTTP) and its Services target that port.
const (
	echoBasicImage = "registry.k8s.io/gateway-api/echo-basic:"
	echoBasicPort  = 3000
)

// podPort is the Pod's first declared TCP containerPort, else echo-basic's HTTP port for
// an echo-basic Pod, else defaultPort.
func podPort(pod *corev1.Pod) int {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.ContainerPort > 0 && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
				return int(p.ContainerPort)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		if strings.HasPrefix(c.Image, echoBasicImage) {
			return echoBasicPort
		}
	}
	return defaultPort
}

// bind assigns a pending Pod to this node through the binding subresource.
func (k *Kubelet) bind(ctx context.Context, pod *corev1.Pod) error {
	err := k.cs.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.st.NodeName},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // already bound, or gone
	}
	if err != nil {
		return fmt.Errorf("bind pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	k.log.Info("pod bound", "pod", pod.Namespace+"/"+pod.Name, "node", k.st.NodeName)
	return nil
}

// finishDelete confirms a graceful deletion once the backend has stopped.
func (k *Kubelet) finishDelete(ctx context.Context, pod *corev1.Pod) error {
	err := k.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish deletion of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	k.log.Info("pod deleted", "pod", pod.Namespace+"/"+pod.Name)
	return nil
}

// setCondition sets a condition, keeping its transition time when the status is unchanged.
func setCondition(conds []corev1.PodCondition, t corev1.PodConditionType, ok bool, reason string) []corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
		reason = ""
	}
	for i := range conds {
		if conds[i].Type == t {
			if conds[i].Status != status {
				conds[i].Status, conds[i].LastTransitionTime = status, metav1.Now()
			}
			conds[i].Reason = reason
			return conds
		}
	}
	return append(conds, corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.Now()})
}

// desiredStatus is the Pod status that the backend's state calls for.
func (k *Kubelet) desiredStatus(pod *corev1.Pod, b *backend) *corev1.PodStatus {
	st := pod.Status.DeepCopy()
	alive := b.alive()
	ready := alive && b.ready && pod.Annotations[ReadyAnnotation] != "false"
	notReadyReason := "ContainersNotReady"
	if pod.Annotations[ReadyAnnotation] == "false" {
		notReadyReason = "TestclusterReadyAnnotation"
	}
	started := metav1.NewTime(b.started)
	st.Phase = corev1.PodRunning
	st.HostIP, st.HostIPs = k.hostIP, []corev1.HostIP{{IP: k.hostIP}}
	st.PodIP, st.PodIPs = b.ip.String(), []corev1.PodIP{{IP: b.ip.String()}}
	if st.StartTime == nil {
		st.StartTime = &started
	}
	st.Conditions = setCondition(st.Conditions, corev1.PodReadyToStartContainers, true, "")
	st.Conditions = setCondition(st.Conditions, corev1.PodInitialized, true, "")
	st.Conditions = setCondition(st.Conditions, corev1.PodScheduled, true, "")
	st.Conditions = setCondition(st.Conditions, corev1.ContainersReady, ready, notReadyReason)
	st.Conditions = setCondition(st.Conditions, corev1.PodReady, ready, notReadyReason)
	st.ContainerStatuses = st.ContainerStatuses[:0]
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "testcluster://echo",
			ContainerID:  "testcluster://" + string(pod.UID) + "/" + c.Name,
			Ready:        ready,
			Started:      ptr.To(alive),
			RestartCount: b.restarts,
		}
		if alive {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// reportStatus patches the Pod's status when it differs from what the backend calls for.
func (k *Kubelet) reportStatus(ctx context.Context, pod *corev1.Pod, b *backend) error {
	want := k.desiredStatus(pod, b)
	if equality.Semantic.DeepEqual(&pod.Status, want) {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   want,
	})
	if err != nil {
		return fmt.Errorf("encode status patch: %w", err)
	}
	_, err = k.cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, body,
		metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	k.log.Info("pod status", "pod", pod.Namespace+"/"+pod.Name, "ip", b.ip, "ready", isReady(want))
	return nil
}

func isReady(st *corev1.PodStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
