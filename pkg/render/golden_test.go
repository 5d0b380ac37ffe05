package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bollard-io/bollard/pkg/haproxy/haproxytest"
	"github.com/bollard-io/bollard/pkg/manifest"
	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenOptions are fixed so that the output is byte-stable.
func goldenOptions(t *testing.T) model.Options {
	t.Helper()
	opts := model.DefaultOptions()
	opts.WatchIngressWithoutClass = true
	opts.GlobalConfigMap = "bollard/bollard"
	opts.FallbackCertificate = fallbackPEM(t)
	opts.Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	opts.GatewayControllerName = model.DefaultGatewayControllerName
	opts.GatewayLoopback = true
	return opts
}

// TestGolden renders each testdata/golden/<case>/input.yaml and compares
// every file with testdata/golden/<case>/out, and the rejections with
// rejections.txt. Each expected haproxy.cfg must pass `haproxy -c`.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/golden/*/input.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, err := manifest.Load([]string{input}, nil)
			if err != nil {
				t.Fatal(err)
			}
			opts := goldenOptions(t)
			if filepath.Base(dir) == "gateway-shared" {
				// Gateways on the Ingress frontends' address and ports.
				ro := render.DefaultOptions()
				opts.GatewayLoopback = false
				opts.IngressHTTPPort, opts.IngressHTTPSPort = int32(ro.HTTPPort), int32(ro.HTTPSPort)
				opts.ReservedPorts = []int32{int32(ro.StatsPort), 10254}
			}
			cfg, rejections := model.Build(res.Snapshot, opts)
			files, err := render.Render(&cfg, render.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range rejections {
				lines = append(lines, r.String()+"\n")
			}
			files = append(files, render.File{Path: "../rejections.txt", Mode: render.ConfigMode, Data: []byte(strings.Join(lines, ""))})
			outDir := filepath.Join(dir, "out")
			if *update {
				if err := os.RemoveAll(outDir); err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					path := filepath.Join(outDir, f.Path)
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			var want []string
			_ = filepath.WalkDir(outDir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(outDir, path)
					want = append(want, rel)
				}
				return nil
			})
			var got []string
			for _, f := range files {
				if !strings.HasPrefix(f.Path, "../") {
					got = append(got, f.Path)
				}
				expected, err := os.ReadFile(filepath.Join(outDir, f.Path))
				if err != nil {
					t.Errorf("%s: %v (run go test ./pkg/render -run TestGolden -update)", f.Path, err)
					continue
				}
				if string(expected) != string(f.Data) {
					t.Errorf("%s differs from the golden file (run with -update and review the diff):\n%s", f.Path, f.Data)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("rendered files %v, golden files %v", got, want)
			}
			// The golden config itself must be valid for the real HAProxy.
			haproxytest.Check(t, outDir)
		})
	}
}
