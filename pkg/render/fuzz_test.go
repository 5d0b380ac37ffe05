package render_test

import (
	"bytes"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/bollard-io/bollard/pkg/haproxy"
	"github.com/bollard-io/bollard/pkg/model"
	mt "github.com/bollard-io/bollard/pkg/model/modeltest"
	"github.com/bollard-io/bollard/pkg/render"
)

// FuzzModel feeds arbitrary hosts, paths, path types and annotation values
// through the model and the renderer. Properties:
//   - an accepted Ingress changes only map entries: haproxy.cfg is
//     byte-identical to the one rendered for a plain host and path to the
//     same backend, so the input added no directive line;
//   - every map line is exactly "key value" of printable, non-space bytes,
//     and the runtime API's command constructors accept it;
//   - the real `haproxy -c` accepts the result;
//   - a rejected Ingress leaves the output as if it did not exist.
func FuzzModel(f *testing.F) {
	seeds := []struct{ host, path, annotation string }{
		{"a.example", "/", "true"},
		{"*.wild.example", "/x/y/", "false"},
		{"", "/a;disable frontend http", "true"},
		{"a.example", "/a\nbackend evil", "true"},
		{"a.example\nbackend x", "/", "true"},
		{"a.example", "/${HOME}", "true"},
		{"a.example", "/%[env(HOME)]", "true"},
		{"%[src].example", "/", "true"},
		{"a.example", "/a b#c", "true\rfalse"},
		{"a.example", `/"'\`, "1"},
		{"a.example", "/%41%zz", "TRUE"},
		{"A.EXAMPLE", "/\x00", "t"},
		{"a.example", "/~!$&()*+,;=:@", "0"},
		{"_", "/", "true"},
	}
	for _, s := range seeds {
		for pt := uint8(0); pt < 4; pt++ {
			f.Add(s.host, s.path, pt, s.annotation)
		}
	}
	pathTypes := []string{"Exact", "Prefix", "ImplementationSpecific", "Bogus"}
	fallback := fallbackPEM(f)
	f.Fuzz(func(t *testing.T, host, path string, pathType uint8, annotation string) {
		opts := model.DefaultOptions()
		opts.FallbackCertificate = fallback
		build := func(ing *networkingv1.Ingress) []render.File {
			snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{
				mt.Ingress("ns", "base", mt.Rule("base.example", mt.Path("Prefix", "/", "svc", 80))),
			}}
			if ing != nil {
				snap.Ingresses = append(snap.Ingresses, ing)
			}
			cfg, _ := model.Build(snap, opts)
			files, err := render.Render(&cfg, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			return files
		}
		fuzzed := mt.Ingress("ns", "fuzz", mt.Annotation(model.AnnotationSSLRedirect, annotation),
			mt.Rule(host, mt.Path(pathTypes[pathType%4], path, "svc", 80)))
		snap := model.Snapshot{Ingresses: []*networkingv1.Ingress{fuzzed}}
		_, rejections := model.Build(snap, opts)
		accepted := true
		for _, r := range rejections {
			accepted = accepted && r.Warning
		}
		got := build(fuzzed)
		if !accepted {
			if !sameFiles(got, build(nil)) {
				t.Fatalf("a rejected Ingress changed the output")
			}
			return
		}
		plain := build(mt.Ingress("ns", "fuzz", mt.Rule("plain.example", mt.Path("Prefix", "/", "svc", 80))))
		if cfg := fileData(t, got, render.ConfigFile); !bytes.Equal(cfg, fileData(t, plain, render.ConfigFile)) {
			t.Fatalf("an accepted host/path changed haproxy.cfg:\n%s", cfg)
		}
		for _, file := range got {
			if strings.HasPrefix(file.Path, "maps/") {
				checkMapFile(t, file)
			}
		}
		checkOnce(t, got) // runs haproxy -c on file sets not seen before
	})
}

func checkMapFile(t *testing.T, f render.File) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Split(line, " ")
		if len(fields) != 2 || fields[0] == "" || fields[1] == "" {
			t.Fatalf("%s: line %q is not exactly \"key value\"", f.Path, line)
		}
		for _, c := range []byte(line) {
			if c < 0x20 || c > 0x7e || c == '#' {
				t.Fatalf("%s: line %q holds byte %#x", f.Path, line, c)
			}
		}
		// What reaches a map file must also be sendable at run time.
		if _, err := haproxy.AddMap(f.Path, fields[0], fields[1]); err != nil {
			t.Fatalf("%s: the runtime API refuses line %q: %v", f.Path, line, err)
		}
	}
}

func sameFiles(a, b []render.File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}
