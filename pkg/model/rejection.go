package model

import (
	"cmp"
	"fmt"
	"slices"
)

// Rejection reports an object, or a part of it, that was left out or needs
// attention. Field is a path inside the object, such as
// "spec.rules[0].http.paths[1].path".
type Rejection struct {
	Kind      string
	Namespace string
	Name      string
	Field     string
	Reason    string
	// Warning is set when nothing was left out (for example an expired
	// certificate that is still served).
	Warning bool
	// Refused is set when HAProxy, not the model, refused the object.
	Refused bool
	// Missing is set when the problem is a referenced object that does not
	// exist (yet): `kubectl apply -f dir/` creates objects in any order, so
	// the controller reports it only once it stays missing.
	Missing bool
	// service is the Service ("namespace/name") of a rejected EndpointSlice:
	// PatchEndpoints replaces the rejections of the Services it patches.
	service string
}

func (r Rejection) String() string {
	verb := "rejected"
	if r.Warning {
		verb = "warning"
	}
	return fmt.Sprintf("%s %s/%s: %s: %s: %s", r.Kind, shown(r.Namespace), shown(r.Name), verb, r.Field, r.Reason)
}

// shown quotes a namespace or name that is not plain visible ASCII, so that
// a rejected hostile name cannot forge lines in a report.
func shown(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return printable(s)
		}
	}
	return s
}

func sortRejections(rs []Rejection) []Rejection {
	slices.SortFunc(rs, func(a, b Rejection) int {
		return cmp.Or(
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Reason, b.Reason),
			cmp.Compare(a.service, b.service),
		)
	})
	return slices.Compact(rs)
}
