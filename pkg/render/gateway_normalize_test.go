package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/templates"
)

// TestGatewayNormalizeIsTheTemplates: the Gateway frontends normalise
// requests with the very rules of the Ingress frontends, so that no
// equivalent form of a request reaches another rule on either; a change
// to one must be made to both.
func TestGatewayNormalizeIsTheTemplates(t *testing.T) {
	base := templates.Base()
	start := strings.Index(base, "\nfrontend http from "+DefaultsName+"\n")
	if start < 0 {
		t.Fatal("the template has no frontend http")
	}
	var rules []string
	for _, line := range strings.Split(base[start+1:], "\n")[1:] {
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if strings.HasPrefix(line, "http-request set-var(txn.hostkey)") {
			break // routing starts
		}
		if !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	if !slices.Equal(rules, gatewayNormalize) {
		t.Errorf("the template's normalisation:\n%s\n\ngatewayNormalize:\n%s", strings.Join(rules, "\n"), strings.Join(gatewayNormalize, "\n"))
	}
}
