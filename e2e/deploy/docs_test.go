package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsNameTheHAProxyPin: README.md and docs/deploy.md name the haproxy
// image the manifests run and no other haproxy:VERSION tag, and the table
// of docs/deploy.md's "Supported HAProxy versions" lists the supported
// lines, the default one marked as the default image.
func TestDocsNameTheHAProxyPin(t *testing.T) {
	pod := kustomize(t, "overlays/daemonset").workload(t).template.Spec
	pin := container(t, &pod, "haproxy").Image
	// A tag, unless it ends in a placeholder (haproxy:3.4.N).
	tags := regexp.MustCompile(`haproxy:\d+(?:\.\d+)*(\.[A-Z]\b)?`)
	for _, doc := range []string{"README.md", "docs/deploy.md"} {
		text := readRepoFile(t, doc)
		if !strings.Contains(text, "`"+pin+"`") {
			t.Errorf("%s does not name the image %s", doc, pin)
		}
		for _, m := range tags.FindAllStringSubmatch(text, -1) {
			if m[1] == "" && m[0] != pin {
				t.Errorf("%s names %s; the manifests run %s", doc, m[0], pin)
			}
		}
	}

	deploy := readRepoFile(t, "docs/deploy.md")
	_, section, ok := strings.Cut(deploy, "\n## Supported HAProxy versions\n")
	if !ok {
		t.Fatalf("docs/deploy.md has no section \"Supported HAProxy versions\"")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+\.\d+) \|(.*)\|\s*$`).FindAllStringSubmatch(section, -1)
	var lines []string
	for _, row := range rows {
		lines = append(lines, row[1])
		if isDefault := strings.Contains(row[2], "default image"); isDefault != (row[1] == defaultLine) {
			t.Errorf("docs/deploy.md: the row of HAProxy %s says default image: %v; the default line is %s", row[1], isDefault, defaultLine)
		}
	}
	if !slices.Equal(lines, supportedLines) {
		t.Errorf("docs/deploy.md lists HAProxy %v, the supported lines are %v", lines, supportedLines)
	}
}
