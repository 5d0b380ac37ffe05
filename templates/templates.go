// Package templates holds the base HAProxy configuration that the renderer
// builds on.
package templates

import _ "embed"

//go:embed haproxy.cfg
var base string

// Base returns the base haproxy.cfg.
func Base() string { return base }
