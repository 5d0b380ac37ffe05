package model

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayStatus is the status the Gateway API objects Bollard serves
// should show. Conditions carry no LastTransitionTime: the model has no
// clock, the controller keeps the time of an unchanged condition.
type GatewayStatus struct {
	Classes  []ObjectStatus
	Gateways []GatewayObjectStatus
	Routes   []RouteStatus
}

// ObjectStatus is the status of a GatewayClass.
type ObjectStatus struct {
	Name       string
	Generation int64
	Conditions []metav1.Condition
}

// GatewayObjectStatus is the status of a Gateway.
type GatewayObjectStatus struct {
	Namespace  string
	Name       string
	Generation int64
	// Address is the loopback address the Gateway was given; "" when the
	// controller publishes its own address.
	Address    string
	Conditions []metav1.Condition
	Listeners  []gatewayv1.ListenerStatus
	// refused is why HAProxy refused the Gateway, "" when it did not.
	refused string
}

// RouteStatus is the status of an HTTPRoute: one entry per parent that
// is a Gateway of ours.
type RouteStatus struct {
	Namespace  string
	Name       string
	Generation int64
	Parents    []gatewayv1.RouteParentStatus
}

func condition(kind string, ok bool, reason, message string, generation int64) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{Type: kind, Status: status, Reason: reason, Message: message, ObservedGeneration: generation}
}

// RefusedRouteKey and RefusedGatewayKey are the keys of Options.Refused
// for an HTTPRoute and a Gateway that HAProxy refused.
func RefusedRouteKey(namespace, name string) string { return "HTTPRoute:" + namespace + "/" + name }

// RefusedGatewayKey: see RefusedRouteKey.
func RefusedGatewayKey(namespace, name string) string { return "Gateway:" + namespace + "/" + name }

// refusedNote is what the status and the Warning say of an object HAProxy
// refused.
func refusedNote(msg string) string {
	return "HAProxy refused the configuration with this object (" + msg + "); it is left out until it changes"
}
