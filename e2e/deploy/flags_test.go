package deploy

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/bollard-io/bollard/pkg/cli"
)

// bollardArgs returns the command line of a container that runs the
// bollard image: its entry point is the bollard binary, so the args start
// with the subcommand.
func bollardArgs(c *corev1.Container) ([]string, error) {
	switch {
	case len(c.Command) == 0:
		return c.Args, nil
	case c.Command[0] == "bollard" || c.Command[0] == "/usr/local/bin/bollard":
		return append(slices.Clone(c.Command[1:]), c.Args...), nil
	}
	return nil, fmt.Errorf("container %s runs %q, not bollard", c.Name, c.Command[0])
}

// flagProblems checks a bollard command line against the real cobra
// commands: the first argument must name a subcommand, and every other
// argument must be a flag of that subcommand (or the value of the flag
// before it) that parses. It returns the parsed flag values by name.
func flagProblems(args []string) (string, map[string]string, []string) {
	root := cli.NewRootCommand(strings.NewReader(""), io.Discard, io.Discard)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, []string{fmt.Sprintf("the command line %q does not start with a subcommand", args)}
	}
	sub, rest, err := root.Find(args)
	if err != nil || sub == root {
		return "", nil, []string{fmt.Sprintf("bollard has no subcommand %q (%v)", args[0], err)}
	}
	var problems []string
	values := map[string]string{}
	fs := sub.Flags()
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		if !strings.HasPrefix(arg, "--") || len(arg) == 2 {
			problems = append(problems, fmt.Sprintf("bollard %s: argument %q is not a --flag (write flags as --name=value)", sub.Name(), arg))
			continue
		}
		name, value, hasValue := strings.Cut(arg[2:], "=")
		f := fs.Lookup(name)
		if f == nil {
			problems = append(problems, fmt.Sprintf("bollard %s has no flag --%s (see bollard %s --help)", sub.Name(), name, sub.Name()))
			continue
		}
		if !hasValue {
			if f.Value.Type() == "bool" {
				value = "true"
			} else if i+1 < len(rest) {
				i++
				value = rest[i]
			}
		}
		if _, dup := values[name]; dup {
			problems = append(problems, fmt.Sprintf("bollard %s: --%s is given twice", sub.Name(), name))
		}
		values[name] = value
	}
	if len(problems) == 0 {
		if err := sub.ParseFlags(rest); err != nil {
			problems = append(problems, fmt.Sprintf("bollard %s: %v", sub.Name(), err))
		} else if extra := fs.Args(); len(extra) > 0 {
			problems = append(problems, fmt.Sprintf("bollard %s takes no arguments, got %q", sub.Name(), extra))
		}
	}
	return sub.Name(), values, problems
}

// TestManifestFlagsExist: every flag the manifests pass to bollard exists
// in the binary's commands and parses, so that renaming a flag breaks this
// test instead of a deployment.
func TestManifestFlagsExist(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			w := kustomize(t, "overlays/"+overlay).workload(t)
			want := map[string]string{"bootstrap": "bootstrap", "bollard": "controller"}
			for _, c := range append(slices.Clone(w.template.Spec.InitContainers), w.template.Spec.Containers...) {
				if !strings.HasPrefix(c.Image, bollardImage+":") {
					continue
				}
				args, err := bollardArgs(&c)
				if err != nil {
					t.Error(err)
					continue
				}
				sub, values, problems := flagProblems(args)
				for _, p := range problems {
					t.Errorf("container %s: %s", c.Name, p)
				}
				if sub != want[c.Name] {
					t.Errorf("container %s runs bollard %s, want bollard %s", c.Name, sub, want[c.Name])
				}
				if len(values) == 0 {
					t.Errorf("container %s passes no flags", c.Name)
				}
				delete(want, c.Name)
			}
			for name := range want {
				t.Errorf("no container %s runs the bollard image", name)
			}
		})
	}
}

// TestFlagCheckCatchesRenames proves the check above: a renamed, misspelt
// or mistyped flag, and an unknown subcommand, are reported.
func TestFlagCheckCatchesRenames(t *testing.T) {
	good := []string{"controller", "--haproxy-mode=external", "--config-dir", "/etc/haproxy", "--leader-elect", "--http-port=8080"}
	if _, values, problems := flagProblems(good); len(problems) > 0 || values["config-dir"] != "/etc/haproxy" || values["leader-elect"] != "true" {
		t.Fatalf("a valid command line was refused: %v %v", problems, values)
	}
	for _, bad := range [][]string{
		{"controller", "--configmapp=bollard/x"},
		{"controller", "--config-map=bollard/x"},
		{"controller", "--http-port=http"},
		{"controller", "-v"},
		{"controller", "positional"},
		{"bootstrap", "--publish-service=bollard/bollard"},
		{"controler", "--config-dir=/etc/haproxy"},
		{"--config-dir=/etc/haproxy"},
	} {
		if _, _, problems := flagProblems(bad); len(problems) == 0 {
			t.Errorf("%q was accepted", bad)
		}
	}
}
