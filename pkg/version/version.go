// Package version reports the build's version, set by the linker:
// -X github.com/bollard-io/bollard/pkg/version.version=v1.2.3
package version

var (
	version = "dev"
	commit  = "unknown"
)

// Version returns the release version.
func Version() string { return version }

// Commit returns the git commit the binary was built from.
func Commit() string { return commit }
