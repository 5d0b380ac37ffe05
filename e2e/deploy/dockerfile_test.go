package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bollard-io/bollard/e2e/framework"
	"github.com/bollard-io/bollard/pkg/haproxy"
)

// supportedLines are the HAProxy lines Bollard supports (docs/deploy.md,
// "Supported HAProxy versions").
var supportedLines = haproxy.TestedLines()

// lineOf returns the MAJOR.MINOR of an HAProxy version ("" if there is none).
func lineOf(version string) string {
	return regexp.MustCompile(`^\d+\.\d+`).FindString(version)
}

// haproxyVersion returns the version that `bin -v` reports, such as
// 2.6.12-1+deb12u4.
func haproxyVersion(t testing.TB, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Fatalf("%s -v: %v", bin, err)
	}
	m := regexp.MustCompile(`(?m)^HAProxy version (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("%s -v says no version:\n%s", bin, out)
	}
	return m[1]
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// match returns the first submatch of re in s, failing the test when
// there is none.
func match(t *testing.T, what, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s: no match for %s", what, re)
	}
	return m[1]
}

// TestDockerfileAgreesWithMakefile: the image is built with the Makefile's
// Go version and its own build command, its entry point is the binary that
// command produces, and it runs on the HAProxy image the manifests pin,
// as the user the pod runs as.
func TestDockerfileAgreesWithMakefile(t *testing.T) {
	makefile := readRepoFile(t, "Makefile")
	dockerfile := readRepoFile(t, "Dockerfile")
	gomod := readRepoFile(t, "go.mod")

	// The Go version.
	goVersion := match(t, "Makefile", `(?m)^GO_VERSION\s*:?=\s*(\S+)\s*$`, makefile)
	if got := match(t, "Dockerfile", `(?m)^ARG GO_VERSION=(\S+)\s*$`, dockerfile); got != goVersion {
		t.Errorf("Dockerfile ARG GO_VERSION=%s, Makefile GO_VERSION := %s", got, goVersion)
	}
	if !regexp.MustCompile(`(?m)^FROM golang:\$\{GO_VERSION\} AS build\s*$`).MatchString(dockerfile) {
		t.Errorf("the build stage must be FROM golang:${GO_VERSION} AS build")
	}
	if mod := match(t, "go.mod", `(?m)^go (\S+)\s*$`, gomod); mod != goVersion && !strings.HasPrefix(mod, goVersion+".") {
		t.Errorf("go.mod says go %s, the Makefile GO_VERSION %s", mod, goVersion)
	}
	if !strings.Contains(makefile, "--build-arg GO_VERSION=$(GO_VERSION)") {
		t.Errorf("make image must pass --build-arg GO_VERSION=$(GO_VERSION)")
	}

	// The build command and the entry point.
	build := match(t, "Makefile", `(?m)^build:\s*\n\t(.+)$`, makefile)
	if !strings.Contains(build, "-ldflags '$(LDFLAGS)'") || !strings.Contains(build, "-o $(BIN)/bollard ./cmd/bollard") {
		t.Fatalf("the Makefile's build recipe changed: %s", build)
	}
	outDir := match(t, "Dockerfile", `(?m)^RUN make build\b.*\bBIN=(\S+)\s*$`, dockerfile)
	copyLine := regexp.MustCompile(`(?m)^COPY --from=build (\S+) (\S+)\s*$`).FindStringSubmatch(dockerfile)
	if copyLine == nil || copyLine[1] != outDir+"/bollard" {
		t.Fatalf("the runtime stage must copy %s/bollard from the build stage, got %q", outDir, copyLine)
	}
	entry := match(t, "Dockerfile", `(?m)^ENTRYPOINT \["([^"]+)"\]\s*$`, dockerfile)
	if entry != copyLine[2] {
		t.Errorf("ENTRYPOINT %s is not the copied binary %s", entry, copyLine[2])
	}
	// The manifests rely on the entry point: they give only args.
	for _, overlay := range overlays {
		w := kustomize(t, "overlays/"+overlay).workload(t)
		for _, name := range []string{"bollard", "bootstrap"} {
			c := container(t, &w.template.Spec, name)
			if len(c.Command) > 0 && c.Command[0] != entry {
				t.Errorf("%s: container %s overrides the entry point with %q", overlay, name, c.Command)
			}
		}
	}

	// The runtime image is the sidecar's HAProxy image.
	haproxyImage := match(t, "Dockerfile", `(?m)^ARG HAPROXY_IMAGE=(\S+)\s*$`, dockerfile)
	if !regexp.MustCompile(`(?m)^FROM \$\{HAPROXY_IMAGE\}\s*$`).MatchString(dockerfile) {
		t.Errorf("the runtime stage must be FROM ${HAPROXY_IMAGE}")
	}
	var uid string
	for _, overlay := range overlays {
		w := kustomize(t, "overlays/"+overlay).workload(t)
		if got := container(t, &w.template.Spec, "haproxy").Image; got != haproxyImage {
			t.Errorf("%s: the haproxy container runs %s, the Dockerfile builds on %s", overlay, got, haproxyImage)
		}
		if sc := w.template.Spec.SecurityContext; sc != nil && sc.RunAsUser != nil {
			uid = strconv.FormatInt(*sc.RunAsUser, 10)
		}
	}
	// HAProxy's line: the image pins a patch release of a supported line,
	// one that hack/haproxy/fetch.sh can fetch for the tests. The HAProxy
	// these tests run (HAPROXY_BIN, else haproxy on PATH) must be of a
	// supported line too, but need not be the image's: every supported line
	// is tested by running the suites with HAPROXY_BIN set to it.
	tag := haproxyImage[strings.LastIndex(haproxyImage, ":")+1:]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
		t.Errorf("ARG HAPROXY_IMAGE=%s must pin a patch release (haproxy:MAJOR.MINOR.PATCH)", haproxyImage)
	}
	line := lineOf(tag)
	if !slices.Contains(supportedLines, line) {
		t.Errorf("the image's HAProxy %s is not of a supported line %v", tag, supportedLines)
	}
	fetchable := match(t, "hack/haproxy/fetch.sh", `usage: \$0 ([0-9.|]+)`, readRepoFile(t, "hack/haproxy/fetch.sh"))
	if got := strings.Split(fetchable, "|"); !slices.Equal(got, supportedLines) {
		t.Errorf("hack/haproxy/fetch.sh fetches %v, the supported lines are %v", got, supportedLines)
	}
	bin := framework.HAProxyBinary(t)
	local := haproxyVersion(t, bin)
	if !slices.Contains(supportedLines, lineOf(local)) {
		t.Errorf("the tests run HAProxy %s (%s), not of a supported line %v", local, bin, supportedLines)
	} else if lineOf(local) != line {
		t.Logf("the tests run HAProxy %s (%s), the image HAProxy %s; HAPROXY_BIN=$(hack/haproxy/fetch.sh %s) runs the image's line",
			local, bin, tag, line)
	}

	// A non-root user, the one the pod runs as, and OCI labels.
	user := match(t, "Dockerfile", `(?m)^USER (\S+)\s*$`, dockerfile)
	userID, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(userID); err != nil || n == 0 {
		t.Errorf("USER %s must be a numeric non-root uid", user)
	}
	if userID != uid {
		t.Errorf("the image runs as uid %s, the pod as %s", userID, uid)
	}
	for _, label := range []string{"title", "description", "source", "version", "revision", "base.name"} {
		if !strings.Contains(dockerfile, "org.opencontainers.image."+label+"=") {
			t.Errorf("no OCI label org.opencontainers.image.%s", label)
		}
	}
	ignore := readRepoFile(t, ".dockerignore")
	for _, want := range []string{".git", "bin", ".state"} {
		if !regexp.MustCompile(`(?m)^/?` + regexp.QuoteMeta(want) + `/?\s*$`).MatchString(ignore) {
			t.Errorf(".dockerignore must leave out %s", want)
		}
	}
}
