// Package gatewayconformance runs the upstream Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, profile GATEWAY-HTTP) against the real
// test cluster, `bollard controller` and a real HAProxy. The netns kubelet
// runs hack/echo in place of the suite's echo-basic backends.
//
// BOLLARD_GATEWAY_CONFORMANCE unset (make test) runs the whole profile, about
// a minute, and writes nothing; =full (make conformance-gateway) also writes
// docs/gateway-conformance/report.yaml and docs/gateway-conformance.md;
// =subset runs subsetTests only. Every run fails unless the tests of
// subsetTests ran and passed.
package gatewayconformance

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1alpha2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gatewayv1alpha3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/e2e/gatewayconformance/summary"
)

const (
	// modeEnv selects the run: unset, "full" or "subset".
	modeEnv          = "BOLLARD_GATEWAY_CONFORMANCE"
	gatewayClassName = "bollard"
	controllerName   = "bollard.io/gateway-controller"
	reportPath       = "docs/gateway-conformance/report.yaml"
	summaryPath      = "docs/gateway-conformance.md"
	generateCommand  = "make conformance-gateway"
)

// supportedFeatures are the features Bollard claims; the profile's core
// features (Gateway, HTTPRoute, ReferenceGrant) are implied by GATEWAY-HTTP.
var supportedFeatures = []features.FeatureName{
	features.SupportGateway,
	features.SupportHTTPRoute,
	features.SupportReferenceGrant,
	// Extended features the model serves (docs/gateway-api.md).
	features.SupportGatewayPort8080,
	features.SupportGatewayHTTPListenerIsolation,
	features.SupportGatewayHTTPSListenerDetectMisdirectedRequests,
	features.SupportGatewayAddressEmpty,
	features.SupportHTTPRouteMethodMatching,
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRouteBackendRequestHeaderModification,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
	features.SupportHTTPRouteParentRefPort,
	features.SupportHTTPRouteDestinationPortMatching,
	features.SupportHTTPRouteNamedRouteRule,
}

// subsetTests are the tests of a "subset" run (ShortNames), every other
// skipped through SkipTests; every run needs them to pass.
var subsetTests = []string{
	"GatewayClassObservedGenerationBump",
	"HTTPRouteSimpleSameNamespace",
	"HTTPRouteExactPathMatching",
	"HTTPRouteHeaderMatching",
	"HTTPRouteMatching",
	"HTTPRouteWeight",
}

var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.15.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

func TestGatewayConformance(t *testing.T) {
	framework.Need(t, cluster)
	full, subset, err := runMode(os.Getenv(modeEnv))
	if err != nil {
		t.Fatal(err)
	}
	skip, err := skipTests(!subset, tests.ConformanceTests)
	if err != nil {
		t.Fatal(err)
	}
	// controller-runtime complains on stderr when it has no logger.
	ctrllog.SetLogger(logr.Discard())
	ctx := context.Background()
	// The suite sets the config's user agent per test: a copy keeps the
	// framework's clients as they are.
	restConfig := rest.CopyConfig(cluster.Config)
	cl, err := newClient(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	recreateGatewayClass(ctx, t, cl)

	timeouts := config.DefaultTimeoutConfig()
	// Everything runs on this machine: no load balancer to provision, no
	// image to pull. The 3 and 5 minute waits only make a failure slow.
	timeouts.GWCMustBeAccepted = time.Minute
	timeouts.GatewayMustHaveAddress = time.Minute
	timeouts.GatewayMustHaveCondition = time.Minute
	timeouts.ListenerSetMustHaveCondition = time.Minute
	timeouts.NamespacesMustBeReady = 2 * time.Minute

	outcomes := &outcomes{m: map[string]string{}}
	opts := suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName:     gatewayClassName,
			CleanupBaseResources: true,
			CleanupTestResources: true,
			SupportedFeatures:    supportedFeatures,
			TimeoutConfig:        timeouts,
			SkipTests:            skip,
			Mode:                 "default",
			Implementation: confv1.Implementation{
				Organization: "bollard-io",
				Project:      "bollard",
				URL:          "https://github.com/bollard-io/bollard",
				Version:      bollardVersion(cluster.RepoRoot),
				Contact:      []string{"@bollard-io/maintainers"},
			},
			ConformanceProfiles: []suite.ConformanceProfileName{suite.GatewayHTTPConformanceProfileName},
		},
		Client: cl,
		// The suite builds a new client per test from these options.
		ClientOptions: client.Options{Scheme: cl.Scheme()},
		Clientset:     cluster.Client,
		RestConfig:    restConfig,
		ManifestFS:    []fs.FS{&conformance.Manifests},
		Hook: func(t *testing.T, test suite.ConformanceTest, _ *suite.ConformanceTestSuite) {
			outcomes.record(test.ShortName, t)
		},
	}
	if full {
		opts.ReportOutputPath = filepath.Join(cluster.RepoRoot, reportPath)
	}
	cs, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("conformance suite: %v", err)
	}

	b := cluster.StartBollard(t, framework.BollardOptions{Args: []string{"--gateway-api=on", "--gateway-loopback-addresses"}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bollard log (tail):\n%s", framework.TailLines(b.Log(), 60))
		}
	})
	// Parallel tests end after this function returns: the report is made in
	// a cleanup, registered before Run's own so that it runs after it.
	ran := false
	t.Cleanup(func() {
		if !ran {
			t.Log("no conformance report: the suite did not get to run its tests")
			return
		}
		report, err := cs.Report()
		if err != nil {
			t.Errorf("conformance report: %v", err)
			return
		}
		for _, p := range report.ProfileReports {
			t.Logf("%s: %s", p.Name, p.Summary)
		}
		outcomes.checkSubset(t, subsetTests)
		if !full {
			return
		}
		if err := writeReports(cluster.RepoRoot, report, framework.HAProxyBinary(t)); err != nil {
			t.Errorf("write conformance report: %v", err)
		}
	})
	cs.Setup(t, tests.ConformanceTests)
	ran = true
	if err := cs.Run(t, tests.ConformanceTests); err != nil {
		t.Fatal(err)
	}
}

// runMode reads BOLLARD_GATEWAY_CONFORMANCE: full writes the report, subset
// runs subsetTests only.
func runMode(mode string) (full, subset bool, err error) {
	switch mode {
	case "":
		return false, false, nil
	case "full":
		return true, false, nil
	case "subset":
		return false, true, nil
	}
	return false, false, fmt.Errorf("%s=%q: want unset (the profile), full or subset", modeEnv, mode)
}

// skipTests is nothing for the whole profile, else every test outside subsetTests;
// a name of subsetTests that is not a test is an error, not a silent skip.
func skipTests(whole bool, all []suite.ConformanceTest) ([]string, error) {
	if whole {
		return nil, nil
	}
	names := make([]string, 0, len(all))
	for _, test := range all {
		names = append(names, test.ShortName)
	}
	for _, n := range subsetTests {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("subsetTests names %q, which is not a conformance test", n)
		}
	}
	var skip []string
	for _, n := range names {
		if !slices.Contains(subsetTests, n) {
			skip = append(skip, n)
		}
	}
	return skip, nil
}

// outcomes records how each test ended, from the suite's hook.
type outcomes struct {
	mu sync.Mutex
	m  map[string]string
}

func (o *outcomes) record(name string, t *testing.T) {
	res := "passed"
	switch {
	case t.Failed():
		res = "failed"
	case t.Skipped():
		res = "skipped"
	}
	o.mu.Lock()
	o.m[name] = res
	o.mu.Unlock()
}

// checkSubset fails t unless every test of names ran and passed: a test that
// the suite skipped (a feature not claimed) must not pass for a success.
func (o *outcomes) checkSubset(t *testing.T, names []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range names {
		if res := o.m[n]; res != "passed" {
			t.Errorf("subset test %s: %s", n, orNone(res))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "did not run"
	}
	return s
}

// newClient is a controller-runtime client that knows the built-in kinds, the
// CRDs and the Gateway API versions the suite uses.
func newClient(cfg *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme,
		gatewayv1.Install, gatewayv1beta1.Install, gatewayv1alpha2.Install, gatewayv1alpha3.Install,
	} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("controller-runtime client: %w", err)
	}
	return cl, nil
}

// recreateGatewayClass makes a fresh GatewayClass "bollard" (no status, no
// generation from an earlier run) and deletes it when the test ends.
func recreateGatewayClass(ctx context.Context, t *testing.T, cl client.Client) {
	t.Helper()
	deleteGatewayClass(ctx, t, cl)
	gc := &gatewayv1.GatewayClass{}
	gc.Name = gatewayClassName
	gc.Spec.ControllerName = controllerName
	if err := cl.Create(ctx, gc); err != nil {
		t.Fatalf("create GatewayClass %s: %v", gatewayClassName, err)
	}
	t.Cleanup(func() { deleteGatewayClass(context.Background(), t, cl) })
}

// deleteGatewayClass deletes the GatewayClass and waits until it is gone. A
// finalizer left by a controller that no longer runs is removed after 10 s.
func deleteGatewayClass(ctx context.Context, t *testing.T, cl client.Client) {
	t.Helper()
	key := types.NamespacedName{Name: gatewayClassName}
	gc := &gatewayv1.GatewayClass{}
	if err := cl.Get(ctx, key, gc); apierrors.IsNotFound(err) {
		return
	} else if err != nil {
		t.Fatalf("get GatewayClass: %v", err)
	}
	if err := cl.Delete(ctx, gc); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete GatewayClass: %v", err)
	}
	gone := func(ctx context.Context) (bool, error) {
		err := cl.Get(ctx, key, &gatewayv1.GatewayClass{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
	if framework.WaitFor(ctx, 10*time.Second, "GatewayClass deleted", gone) == nil {
		return
	}
	if err := cl.Get(ctx, key, gc); err == nil && len(gc.Finalizers) > 0 {
		t.Logf("GatewayClass %s keeps finalizers %v; removing them", gatewayClassName, gc.Finalizers)
		gc.Finalizers = nil
		if err := cl.Update(ctx, gc); err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("remove GatewayClass finalizers: %v", err)
		}
	}
	if err := framework.WaitFor(ctx, 20*time.Second, "GatewayClass deleted", gone); err != nil {
		t.Fatal(err)
	}
}

// bollardVersion is `git describe` of the repository, "-dirty" with local
// changes.
func bollardVersion(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "unknown"
}

// haproxyVersion is the version `haproxy -v` prints.
func haproxyVersion(bin string) string {
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		return "unknown (" + bin + ": " + err.Error() + ")"
	}
	// "HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/"
	f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
	if len(f) >= 3 && f[1] == "version" {
		return f[2]
	}
	return strings.TrimSpace(string(out))
}

// writeReports writes the suite's report, then the summary rendered from
// that file.
func writeReports(root string, report *confv1.ConformanceReport, haproxyBin string) error {
	data, err := yaml.Marshal(report)
	if err != nil {
		return err
	}
	path := filepath.Join(root, reportPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return err
	}
	parsed, err := summary.Parse(data)
	if err != nil {
		return err
	}
	md, err := summary.Render(parsed, summary.Meta{
		Command:        generateCommand,
		ReportPath:     reportPath,
		Date:           time.Now().UTC().Format("2006-01-02"),
		BollardVersion: report.Implementation.Version,
		HAProxyVersion: haproxyVersion(haproxyBin),
	}, profiles(), catalogue())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, summaryPath), []byte(md), 0o644)
}

// profiles are the feature sets of the profiles the run may report.
func profiles() []summary.Profile {
	var out []summary.Profile
	for _, p := range []suite.ConformanceProfile{suite.GatewayHTTPConformanceProfile} {
		out = append(out, summary.Profile{
			Name: string(p.Name), Core: featureNames(p.CoreFeatures.UnsortedList()),
			Extended: featureNames(p.ExtendedFeatures.UnsortedList()),
		})
	}
	return out
}

// catalogue is every conformance test with its features.
func catalogue() []summary.Test {
	out := make([]summary.Test, 0, len(tests.ConformanceTests))
	for _, test := range tests.ConformanceTests {
		out = append(out, summary.Test{Name: test.ShortName, Features: featureNames(test.Features)})
	}
	return out
}

func featureNames(names []features.FeatureName) []string {
	out := make([]string, len(names))
	for i, f := range names {
		out[i] = string(f)
	}
	return out
}
