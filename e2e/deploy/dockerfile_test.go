package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

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
	// HAProxy's series: the image's tag and the haproxy the tests run by
	// default (the one on PATH, which make test installs), not HAPROXY_BIN:
	// make test-haproxy-matrix runs other lines on purpose.
	tag := haproxyImage[strings.LastIndex(haproxyImage, ":")+1:]
	series := regexp.MustCompile(`^\d+\.\d+`).FindString(tag)
	if out, err := exec.Command("haproxy", "-v").Output(); err == nil {
		local := match(t, "haproxy -v", `version (\d+\.\d+)`, string(out))
		if series != local {
			t.Errorf("the image's HAProxy series %q is not the tests' HAProxy %s", series, local)
		}
	} else {
		t.Errorf("haproxy -v: %v (make test installs haproxy)", err)
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
