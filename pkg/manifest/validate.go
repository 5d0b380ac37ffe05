package manifest

import (
	"errors"
	"strconv"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// kindRule is how the API server checks the metadata of one kind. Files
// reach the model without the API server, so Load applies the same rules:
// a namespace or name from a file ends up in backend names, file names and
// error messages.
type kindRule struct {
	namespaced bool
	name       apivalidation.ValidateNameFunc
}

func ruleFor(kind string) kindRule {
	switch kind {
	case "IngressClass", "GatewayClass":
		return kindRule{false, apivalidation.NameIsDNSSubdomain}
	case "Namespace":
		return kindRule{false, apivalidation.ValidateNamespaceName}
	case "Service":
		return kindRule{true, apivalidation.NameIsDNS1035Label}
	default: // Ingress, EndpointSlice, Secret, ConfigMap
		return kindRule{true, apivalidation.NameIsDNSSubdomain}
	}
}

// maxReasonLength caps one field error: the bad value is quoted in it, and
// a hostile file may hold megabytes.
const maxReasonLength = 512

// checkMeta defaults the namespace as kubectl does, then validates the
// metadata as the API server does on create: name, namespace, labels
// (kubernetes.io/service-name among them), annotations, owner references
// and finalizers.
func checkMeta(meta *metav1.ObjectMeta, rule kindRule) error {
	if rule.namespaced && meta.Namespace == "" {
		meta.Namespace = DefaultNamespace
	}
	if !rule.namespaced {
		// The API server drops the namespace of a cluster-scoped object.
		meta.Namespace = ""
	}
	errs := apivalidation.ValidateObjectMeta(meta, rule.namespaced, rule.name, field.NewPath("metadata"))
	if len(errs) == 0 {
		return nil
	}
	reasons := make([]string, len(errs))
	for i, e := range errs {
		reasons[i] = e.Error()
		if len(reasons[i]) > maxReasonLength {
			reasons[i] = strings.ToValidUTF8(reasons[i][:maxReasonLength], "") + "..."
		}
	}
	return errors.New(strings.Join(reasons, "; "))
}

// printable returns s as it is when it is short, visible ASCII, and quoted
// and capped otherwise, so that a hostile kind cannot forge lines in an
// error or a report.
func printable(s string) string {
	const maxShown = 64
	plain := len(s) <= maxShown
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] > ' ' && s[i] < 0x7f
	}
	switch {
	case plain:
		return s
	case len(s) > maxShown:
		return strconv.QuoteToASCII(s[:maxShown]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
