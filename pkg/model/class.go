package model

import (
	"cmp"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
)

// Annotations read from IngressClass and Ingress objects.
const (
	AnnotationIsDefaultClass = "ingressclass.kubernetes.io/is-default-class"
	AnnotationLegacyClass    = "kubernetes.io/ingress.class"
)

// IsOurs tells whether an Ingress belongs to this controller.
func IsOurs(ing *networkingv1.Ingress, classes []*networkingv1.IngressClass, opts Options) bool {
	byName := make(map[string]*networkingv1.IngressClass, len(classes))
	for _, c := range classes {
		byName[c.Name] = c
	}
	return (&builder{opts: opts, classes: byName}).isOurs(ing)
}

func (b *builder) isOurs(ing *networkingv1.Ingress) bool {
	if !b.inScope(ing.Namespace) {
		return false
	}
	name := ""
	if ing.Spec.IngressClassName != nil {
		name = *ing.Spec.IngressClassName
	} else if v, ok := ing.Annotations[AnnotationLegacyClass]; ok {
		name = v
	}
	if name == "" {
		return b.opts.WatchIngressWithoutClass || b.haveDefaultClass()
	}
	if class, ok := b.classes[name]; ok {
		return class.Spec.Controller == b.opts.ControllerName
	}
	return name == b.opts.IngressClass
}

func (b *builder) haveDefaultClass() bool {
	for _, c := range b.classes {
		if c.Spec.Controller == b.opts.ControllerName && c.Annotations[AnnotationIsDefaultClass] == "true" {
			return true
		}
	}
	return false
}

// ourIngresses returns this controller's Ingresses, oldest first: age
// decides conflicts.
func (b *builder) ourIngresses(all []*networkingv1.Ingress) []*networkingv1.Ingress {
	var ours []*networkingv1.Ingress
	for _, ing := range all {
		if b.isOurs(ing) {
			ours = append(ours, ing)
		}
	}
	slices.SortFunc(ours, func(x, y *networkingv1.Ingress) int {
		return cmp.Or(
			x.CreationTimestamp.Time.Compare(y.CreationTimestamp.Time),
			cmp.Compare(x.Namespace, y.Namespace),
			cmp.Compare(x.Name, y.Name),
		)
	})
	return ours
}
