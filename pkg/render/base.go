package render

import (
	"fmt"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/options"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/templates"
)

// baseKey is everything the base sections (global, defaults, frontends and
// the not-found backend) depend on.
type baseKey struct {
	opts           Options
	timeouts       model.Timeouts
	defaultBackend string
}

func keyOf(cfg *model.Config, opts Options) baseKey {
	return baseKey{opts: opts, timeouts: cfg.Global.Timeouts, defaultBackend: cfg.DefaultBackend}
}

// baseSections renders the base template for cfg and opts.
func baseSections(cfg *model.Config, opts Options) (string, error) {
	p, err := parser.New(options.String(templates.Base()))
	if err != nil {
		return "", fmt.Errorf("parse base template: %w", err)
	}
	if err := setBase(p, cfg, opts); err != nil {
		return "", fmt.Errorf("render base sections: %w", err)
	}
	return p.String(), nil
}

// Renderer renders like Render and keeps the base sections of its last
// call: parsing the template with config-parser was 40% of a render at 140
// backends (pprof of the controller under hack/bench P1), and the base
// changes only with the options, the global timeouts and the default
// backend. A Renderer is not safe for concurrent use; the controller's one
// apply loop owns one.
type Renderer struct {
	opts Options
	key  baseKey
	base string
	ok   bool
}

// NewRenderer returns a Renderer for opts.
func NewRenderer(opts Options) *Renderer {
	return &Renderer{opts: opts}
}

// Render is Render(cfg, opts) with the base sections reused when their
// inputs did not change.
func (r *Renderer) Render(cfg *model.Config) ([]File, error) {
	if err := r.opts.validate(); err != nil {
		return nil, fmt.Errorf("render options: %w", err)
	}
	key := keyOf(cfg, r.opts)
	if !r.ok || r.key != key {
		base, err := baseSections(cfg, r.opts)
		if err != nil {
			return nil, err
		}
		r.key, r.base, r.ok = key, base, true
	}
	return render(cfg, r.base, r.opts.BindAddress)
}
