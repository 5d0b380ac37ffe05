// Package kubelet is the harness's "netns kubelet": it registers a Ready Node, binds pending
// Pods to it, runs an echo backend for each Pod on its own address inside the cluster's network
// namespace and reports the Pods Running and Ready, so that kube-controller-manager writes real
// EndpointSlices.
//
// A Pod annotated testcluster.bollard.io/ready: "false" is reported not Ready (its backend
// still runs), which lets tests take an endpoint out of rotation.
package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

// ReadyAnnotation set to "false" on a Pod makes the kubelet report it not Ready.
const ReadyAnnotation = "testcluster.bollard.io/ready"

const (
	workers           = 4
	leaseDuration     = 40
	leaseRenew        = 10 * time.Second
	nodeStatusRefresh = 30 * time.Second
	kubeletVersion    = "v1.37.2-testcluster"
)

// Kubelet is one netns kubelet.
type Kubelet struct {
	log      *slog.Logger
	cs       kubernetes.Interface
	st       *state.State
	subnet   netip.Prefix
	hostIP   string
	pods     listersv1.PodLister
	queue    workqueue.TypedRateLimitingInterface[string]
	backends *backends
}

// Run runs the kubelet of the cluster described by st until ctx ends, then stops every backend.
func Run(ctx context.Context, log *slog.Logger, st *state.State) error {
	subnet, err := netip.ParsePrefix(st.Subnet)
	if err != nil {
		return fmt.Errorf("parse subnet from state: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	k := &Kubelet{
		log: log, cs: cs, st: st, subnet: subnet, hostIP: st.Gateway,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	k.backends = newBackends(log, st.Netns, filepath.Join(st.BinDir, "echo"),
		filepath.Join(state.LogDir(st.Dir), "pods"), subnet, k.backendExited)
	defer k.backends.stopAll()
	defer k.queue.ShutDown()

	if err := k.registerNode(ctx); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(cs, 30*time.Second)
	podInformer := factory.Core().V1().Pods()
	k.pods = podInformer.Lister()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    k.enqueue,
		UpdateFunc: func(_, obj any) { k.enqueue(obj) },
		DeleteFunc: k.enqueue,
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		return fmt.Errorf("pod cache did not sync: %w", ctx.Err())
	}
	k.reserveExistingAddresses()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k.processNext(ctx) {
			}
		})
	}
	wg.Go(func() { k.heartbeat(ctx) })
	log.Info("kubelet running", "node", st.NodeName, "netns", st.Netns, "subnet", st.Subnet)
	<-ctx.Done()
	k.queue.ShutDown()
	wg.Wait()
	log.Info("kubelet stopping")
	return nil
}

func (k *Kubelet) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		k.log.Warn("cannot key object", "err", err)
		return
	}
	k.queue.Add(key)
}

// backendExited requeues a pod whose backend process ended, with a growing delay.
func (k *Kubelet) backendExited(key string, restarts int32) {
	k.queue.AddAfter(key, time.Duration(min(restarts, 10))*time.Second)
}

// reserveExistingAddresses keeps the addresses of pods that this node already runs (after a
// kubelet restart their backends come back on the same address, which Pod status pins).
func (k *Kubelet) reserveExistingAddresses() {
	pods, err := k.pods.List(everything())
	if err != nil {
		return
	}
	for _, p := range pods {
		if p.Spec.NodeName != k.st.NodeName || p.Status.PodIP == "" {
			continue
		}
		if ip, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			k.backends.reserve(ip)
		}
	}
}

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.syncPod(ctx, key); err != nil {
		if ctx.Err() != nil {
			return true
		}
		k.log.Warn("pod sync failed, retrying", "pod", key, "err", err)
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// node builds the Node object with a Ready condition and status addresses.
func (k *Kubelet) node() *corev1.Node {
	now := metav1.Now()
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg,
			LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.st.NodeName, Labels: map[string]string{
			"kubernetes.io/hostname": k.st.NodeName, "kubernetes.io/os": "linux",
			"kubernetes.io/arch": runtime.GOARCH, "testcluster.bollard.io/node": "true",
		}},
		Status: corev1.NodeStatus{
			Capacity: res, Allocatable: res,
			Phase: corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "testcluster kubelet is posting ready status"),
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", ""),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", ""),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", ""),
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: k.hostIP},
				{Type: corev1.NodeHostName, Address: k.st.NodeName},
			},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion: kubeletVersion, OperatingSystem: "linux", Architecture: runtime.GOARCH,
				ContainerRuntimeVersion: "testcluster://1", OSImage: "testcluster netns",
			},
		},
	}
}

// registerNode creates (or refreshes) the Node and sets its status.
func (k *Kubelet) registerNode(ctx context.Context) error {
	want := k.node()
	n, err := k.cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, err = k.cs.CoreV1().Nodes().Get(ctx, want.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", want.Name, err)
	}
	n.Status = want.Status
	if _, err := k.cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set status of node %s: %w", want.Name, err)
	}
	k.log.Info("node registered", "node", want.Name, "internalIP", k.hostIP)
	if err := k.renewLease(ctx); err != nil {
		k.log.Warn("first lease renewal failed, will retry", "err", err)
	}
	return nil
}

// heartbeat renews the node Lease and refreshes the Ready condition until ctx ends.
func (k *Kubelet) heartbeat(ctx context.Context) {
	lease := time.NewTicker(leaseRenew)
	defer lease.Stop()
	status := time.NewTicker(nodeStatusRefresh)
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lease.C:
			if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("lease renewal failed", "err", err)
			}
		case <-status.C:
			if err := k.refreshNodeStatus(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("node status refresh failed", "err", err)
			}
		}
	}
}

func (k *Kubelet) refreshNodeStatus(ctx context.Context) error {
	n, err := k.cs.CoreV1().Nodes().Get(ctx, k.st.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return k.registerNode(ctx)
	}
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	now := metav1.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		c.LastHeartbeatTime = now
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			c.Status, c.LastTransitionTime, c.Reason = corev1.ConditionTrue, now, "KubeletReady"
		}
	}
	if _, err := k.cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update node status: %w", err)
	}
	return nil
}

func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, k.st.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.st.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(k.st.NodeName), LeaseDurationSeconds: ptr.To[int32](leaseDuration),
				RenewTime: &now,
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node lease: %w", err)
	}
	l.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew node lease: %w", err)
	}
	return nil
}
