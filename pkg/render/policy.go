package render

import (
	"fmt"
	"strings"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/common"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http/actions"
	"github.com/haproxytech/client-native/v5/config-parser/types"

	"github.com/bollard-io/bollard/pkg/model"
)

// PolicyDefaultsName is the defaults section of the backends that a route
// with a route policy leads to (model.BackendOptions.Policies).
const PolicyDefaultsName = "bollard-policy"

// The map files of the route policies (model.PolicyMaps).
const (
	PolicyExactMap            = "maps/policy-exact.map"
	PolicyPrefixMap           = "maps/policy-prefix.map"
	PolicyHostMap             = "maps/policy-host.map"
	PolicyAccessMap           = "maps/policy-access.map"
	PolicyCIDRsMap            = "maps/policy-cidrs.map"
	PolicyCIDRMembersMap      = "maps/policy-cidr-members.map"
	PolicyLimitRPSMap         = "maps/policy-limit-rps.map"
	PolicyLimitConnectionsMap = "maps/policy-limit-connections.map"
	PolicyCORSMap             = "maps/policy-cors.map"
	PolicyCORSOriginsMap      = "maps/policy-cors-origins.map"
	PolicyCORSMethodsMap      = "maps/policy-cors-methods.map"
	PolicyCORSHeadersMap      = "maps/policy-cors-headers.map"
	PolicyCORSMaxAgeMap       = "maps/policy-cors-max-age.map"
	PolicyCORSCredentialsMap  = "maps/policy-cors-credentials.map"
	PolicyHSTSMap             = "maps/policy-hsts.map"
	PolicyRequestHeadersMap   = "maps/policy-request-headers.map"
	PolicyResponseHeadersMap  = "maps/policy-response-headers.map"
	PolicyRewriteExactMap     = "maps/policy-rewrite-exact.map"
	PolicyRewritePrefixMap    = "maps/policy-rewrite-prefix.map"
	PolicyAppRootMap          = "maps/policy-app-root.map"
	PolicyRedirectsMap        = "maps/policy-redirects.map"
	PolicyClientCertMap       = "maps/policy-client-cert.map"
	PolicyFeaturesMap         = "maps/policy-features.map"
	PolicyAuthMap             = "maps/policy-auth.map"
)

// IsPolicyMap reports whether path is one of the policy maps.
func IsPolicyMap(path string) bool { return strings.HasPrefix(path, "maps/policy-") }

func policyMapFiles(m *model.PolicyMaps) []MapFile {
	// The order of model.PolicyMaps.Lists.
	paths := []string{PolicyCIDRMembersMap, PolicyCIDRsMap, PolicyAccessMap,
		PolicyLimitRPSMap, PolicyLimitConnectionsMap, PolicyCORSMap, PolicyCORSOriginsMap, PolicyCORSMethodsMap, PolicyCORSHeadersMap,
		PolicyCORSMaxAgeMap, PolicyCORSCredentialsMap, PolicyHSTSMap, PolicyRequestHeadersMap, PolicyResponseHeadersMap,
		PolicyRewriteExactMap, PolicyRewritePrefixMap, PolicyAppRootMap, PolicyRedirectsMap, PolicyClientCertMap, PolicyAuthMap, PolicyFeaturesMap,
		PolicyExactMap, PolicyPrefixMap, PolicyHostMap}
	lists := m.Lists()
	if len(lists) != len(paths) {
		panic(fmt.Sprintf("render: %d policy maps in the model, %d files", len(lists), len(paths)))
	}
	files := make([]MapFile, len(paths))
	for i, path := range paths {
		files[i] = MapFile{Path: path, Entries: lists[i]}
	}
	return files
}

// headerRules returns the backend's set-header rules: one per header name
// that a policy routed to it sets, so a new name is a reload and a changed
// value a map update. Names are model-validated ([A-Za-z0-9._-]); the
// value is looked up and decoded per request.
func headerRules(o *model.BackendOptions) ([]parser.ParserInterface, error) {
	var lines []parser.ParserInterface
	for _, side := range []struct {
		names, mapFile, feature string
		rules                   interface {
			parser.ParserInterface
			Insert(data common.ParserData, index int) error
		}
	}{
		{o.RequestHeaders, PolicyRequestHeadersMap, model.PolicyFeatureRequestHeaders, &http.Requests{Name: "http-request", Mode: "backend"}},
		{o.ResponseHeaders, PolicyResponseHeadersMap, model.PolicyFeatureResponseHeaders, &http.Responses{Name: "http-response", Mode: "backend"}},
	} {
		if side.names == "" {
			continue
		}
		side.rules.Init()
		for _, name := range strings.Split(side.names, ",") {
			rule := &actions.SetHeader{
				Name:     name,
				Fmt:      "%[var(txn.header),url_dec]",
				Cond:     "if",
				CondTest: "{ var(txn.features) -m sub " + side.feature + " } { var(txn.policy),concat(|" + name + "),map_str(" + side.mapFile + "),set-var(txn.header) -m found }",
			}
			if err := side.rules.Insert(types.Action(rule), -1); err != nil {
				return nil, fmt.Errorf("set-header %s: %w", name, err)
			}
		}
		lines = append(lines, side.rules)
	}
	return lines, nil
}
