package controller

// reloadCause is why a reload is needed, typed: the label of
// bollard_reloads_total{cause} is taken from it, never parsed from the
// human-readable reason that goes with it.
type reloadCause uint8

const (
	// causeUnset is the zero value: a reload whose cause was not set shows
	// as "unknown" rather than under a real cause.
	causeUnset             reloadCause = iota
	causeStructure                     // global options or the default backend changed
	causeStartup                       // the first config of an adopted HAProxy
	causeNewBackend                    // a backend HAProxy cannot create at run time
	causeSlots                         // a backend needs more slots than it has
	causeCertificates                  // a certificate removed, or its SNI hosts changed
	causeRuntimeFailed                 // HAProxy refused a runtime command
	causeResyncFailed                  // the running state could not be read back
	causeCheckAfterRuntime             // the files of a runtime update failed haproxy -c
	causeBackendRetiring               // a backend wanted again while it is being deleted
	causeBackendOptions                // a backend's directives (options), CA files or userlists changed
	causeUnclassified                  // a difference no runtime command covers (fail closed)
	causeRoutePolicies                 // a backend starts or stops running route policies, or a header name is new
	numCauses
)

// label is the metric label of c.
func (c reloadCause) label() string {
	switch c {
	case causeStructure:
		return "structure"
	case causeStartup:
		return "startup"
	case causeNewBackend:
		return "new_backend"
	case causeSlots:
		return "slots"
	case causeCertificates:
		return "certificates"
	case causeRuntimeFailed:
		return "runtime_failed"
	case causeResyncFailed:
		return "resync_failed"
	case causeCheckAfterRuntime:
		return "check_after_runtime"
	case causeBackendRetiring:
		return "backend_retiring"
	case causeBackendOptions:
		return "backend_options"
	case causeUnclassified:
		return "unclassified"
	case causeRoutePolicies:
		return "route_policies"
	}
	return "unknown"
}

// Reasons of the reloads the controller forces itself.
const (
	reloadResyncFailed      = "resync failed"
	reloadCheckAfterRuntime = "runtime structure failed haproxy -c"
)
