package controller

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bollard-io/bollard/pkg/model"
)

// Event reasons.
const (
	ReasonRejected     = "Rejected"
	ReasonWarning      = "ConfigWarning"
	ReasonServed       = "Served"
	ReasonCheckFailed  = "ConfigCheckFailed"
	ReasonReloadFailed = "ReloadFailed"
)

// missingGrace is how long a referenced Secret or Service may be missing
// before the Warning: `kubectl apply -f dir/` creates objects in any order,
// and an Ingress that arrives a moment before its Secret is not an error.
const missingGrace = 5 * time.Second

// events records Kubernetes Events once per distinct message: a rejection
// that persists across syncs is reported when it first appears.
type events struct {
	recorder record.EventRecorder
	reported map[string]bool
	served   map[string]bool
	// missingSince is when each "not found" rejection was first seen.
	missingSince map[string]time.Time
	// slice finds a cached EndpointSlice: a patched model's snapshot
	// holds the slices of before (builtModel.base).
	slice func(namespace, name string) runtime.Object
}

func newEvents(client kubernetes.Interface, component string) (*events, func()) {
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(eventScheme(), corev1.EventSource{Component: component})
	return &events{recorder: recorder, reported: map[string]bool{}, served: map[string]bool{},
		missingSince: map[string]time.Time{}}, broadcaster.Shutdown
}

// rejections emits a Warning for each new rejection on the object it names.
// A missing reference is reported once it has been missing for
// missingGrace; recheck is when the next one is due (0: none waits).
func (e *events) rejections(snap *model.Snapshot, rs []model.Rejection, at time.Time) (recheck time.Duration) {
	reported := map[string]bool{}
	missing := map[string]time.Time{}
	for _, r := range rs {
		key := r.String()
		if r.Missing {
			since, ok := e.missingSince[key]
			if !ok {
				since = at
			}
			missing[key] = since
			if wait := missingGrace - at.Sub(since); wait > 0 {
				if recheck == 0 || wait < recheck {
					recheck = wait
				}
				continue
			}
		}
		reported[key] = true
		if e.reported[key] {
			continue
		}
		var obj runtime.Object
		if r.Kind == "EndpointSlice" && e.slice != nil {
			obj = e.slice(r.Namespace, r.Name)
		} else {
			obj = findObject(snap, r.Kind, r.Namespace, r.Name)
		}
		if obj == nil {
			continue
		}
		reason := ReasonRejected
		switch {
		case r.Refused:
			reason = ReasonCheckFailed
		case r.Warning:
			reason = ReasonWarning
		}
		e.recorder.Eventf(obj, corev1.EventTypeWarning, reason, "%s: %s", r.Field, r.Reason)
	}
	e.reported, e.missingSince = reported, missing
	return recheck
}

// maxReloadFailedEvents bounds the Events of one failed reload.
const maxReloadFailedEvents = 10

// reloadFailed tells the Ingresses that changed since the last accepted
// config that HAProxy did not take the config that includes them.
func (e *events) reloadFailed(snap *model.Snapshot, suspects []string, err error) {
	if snap == nil || len(suspects) > maxReloadFailedEvents {
		return
	}
	for _, key := range suspects {
		namespace, name, _ := strings.Cut(key, "/")
		if obj := find(snap.Ingresses, namespace, name); obj != nil {
			e.recorder.Eventf(obj, corev1.EventTypeWarning, ReasonReloadFailed,
				"HAProxy did not load the config that includes this change; retrying: %v", err)
		}
	}
}

// servedIngresses emits a Normal event for each Ingress (namespace/name in
// served) served for the first time. The Ingresses are indexed only when one
// is new: a scan per served key cost 55% of the controller's CPU at 10k
// Ingresses (pprof, hack/bench).
func (e *events) servedIngresses(ingresses []*networkingv1.Ingress, served []string) {
	var unreported map[objectKey]bool // usually one new Ingress among 10k
	for _, key := range served {
		if !e.served[key] {
			if unreported == nil {
				unreported = map[objectKey]bool{}
			}
			unreported[splitKey(key)] = true
		}
	}
	for _, ing := range ingresses {
		if len(unreported) == 0 {
			break
		}
		if k := (objectKey{ing.Namespace, ing.Name}); unreported[k] {
			delete(unreported, k)
			e.reportServed(ing, ing.Namespace+"/"+ing.Name)
		}
	}
	e.forgetUnserved(served)
}

// servedAdded is servedIngresses for Ingresses added to a model whose
// served ones were reported: only they can be new.
func (e *events) servedAdded(added []*networkingv1.Ingress, served []string) {
	for _, ing := range added {
		key := ing.Namespace + "/" + ing.Name
		if _, ok := slices.BinarySearch(served, key); ok && !e.served[key] {
			e.reportServed(ing, key)
		}
	}
}

// reportServed records ing (key) as served and reports it.
func (e *events) reportServed(ing *networkingv1.Ingress, key string) {
	e.served[key] = true
	e.recorder.Event(ing, corev1.EventTypeNormal, ReasonServed, "routes are served by HAProxy")
}

// forgetUnserved drops Ingresses that are no longer served (deleted, or
// no longer ours or valid), so the index never outgrows the served set
// and an Ingress that serves again, such as one recreated under the same
// name, is reported again. served is sorted; every served key is in the
// index by now, so a larger index is the only sign of a stale key.
func (e *events) forgetUnserved(served []string) {
	if len(e.served) <= len(served) {
		return
	}
	for key := range e.served {
		if _, ok := slices.BinarySearch(served, key); !ok {
			delete(e.served, key)
		}
	}
}

func findObject(snap *model.Snapshot, kind, namespace, name string) runtime.Object {
	switch kind {
	case "Ingress":
		return find(snap.Ingresses, namespace, name)
	case "Service":
		return find(snap.Services, namespace, name)
	case "EndpointSlice":
		return find(snap.EndpointSlices, namespace, name)
	case "Secret":
		return find(snap.Secrets, namespace, name)
	case "ConfigMap":
		return find(snap.ConfigMaps, namespace, name)
	case "Gateway":
		return find(snap.Gateways, namespace, name)
	case "HTTPRoute":
		return find(snap.HTTPRoutes, namespace, name)
	}
	return nil
}

// eventScheme knows the kinds Events are about: client-go's and the
// Gateway API's.
func eventScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(scheme.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	return s
}

type namedObject interface {
	runtime.Object
	GetNamespace() string
	GetName() string
}

func find[T namedObject](list []T, namespace, name string) runtime.Object {
	for _, o := range list {
		if o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}
