# testcluster.mk: a Makefile fragment that the top-level Makefile includes.
#
#   make testcluster   builds etcd, kube-apiserver, kube-controller-manager, kubectl,
#                      testcluster and echo into bin/.
#
# The four Kubernetes binaries cost about ten minutes cold. They are rebuilt only when the
# stamp changes: the sha256 of hack/testcluster/go.mod, go.sum, the sources of their main
# packages and the build and link flags (which carry the wanted version). testcluster and echo are cheap and always handed to
# `go build`, which relinks them only when their sources changed.
#
# Every variable is prefixed TESTCLUSTER_ so that it does not clash with the includer's.

TESTCLUSTER_MK := $(lastword $(MAKEFILE_LIST))
# Including this file must not change the includer's default goal (restored at the end).
TESTCLUSTER_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
TESTCLUSTER_DIR := $(abspath $(dir $(TESTCLUSTER_MK)))
TESTCLUSTER_ROOT := $(abspath $(TESTCLUSTER_DIR)/../..)
TESTCLUSTER_BIN ?= $(TESTCLUSTER_ROOT)/bin
TESTCLUSTER_GO ?= go
TESTCLUSTER_GOBUILDFLAGS ?= -p 2 -buildvcs=false

# The Kubernetes version written into the binaries; hack/testcluster/go.mod pins the code.
TESTCLUSTER_K8S_VERSION ?= v1.37.2
TESTCLUSTER_BUILD_DATE ?= 2026-01-01T00:00:00Z
TESTCLUSTER_VERSION_PARTS := $(subst ., ,$(patsubst v%,%,$(TESTCLUSTER_K8S_VERSION)))
TESTCLUSTER_GIT_MAJOR := $(word 1,$(TESTCLUSTER_VERSION_PARTS))
TESTCLUSTER_GIT_MINOR := $(word 2,$(TESTCLUSTER_VERSION_PARTS))

TESTCLUSTER_VERSION_FIELDS := gitVersion=$(TESTCLUSTER_K8S_VERSION) \
	gitMajor=$(TESTCLUSTER_GIT_MAJOR) gitMinor=$(TESTCLUSTER_GIT_MINOR) \
	gitTreeState=clean buildDate=$(TESTCLUSTER_BUILD_DATE)
TESTCLUSTER_LDFLAGS := -s -w \
	$(foreach f,$(TESTCLUSTER_VERSION_FIELDS),-X k8s.io/component-base/version.$(f)) \
	$(foreach f,$(TESTCLUSTER_VERSION_FIELDS),-X k8s.io/client-go/pkg/version.$(f))

TESTCLUSTER_K8S_CMDS := etcd kube-apiserver kube-controller-manager kubectl
TESTCLUSTER_K8S_SOURCES := $(TESTCLUSTER_DIR)/go.mod $(TESTCLUSTER_DIR)/go.sum \
	$(foreach c,$(TESTCLUSTER_K8S_CMDS),$(TESTCLUSTER_DIR)/cmd/$(c)/main.go)
TESTCLUSTER_STAMP := $(TESTCLUSTER_BIN)/.testcluster.stamp

.PHONY: testcluster testcluster-k8s testcluster-tools testcluster-clean

testcluster: testcluster-k8s testcluster-tools

# Rebuilds the Kubernetes binaries when the stamp differs or one of them is missing.
testcluster-k8s:
	@mkdir -p $(TESTCLUSTER_BIN)
	@start=$$(date +%s); \
	want=$$( { cat $(TESTCLUSTER_K8S_SOURCES); echo '$(TESTCLUSTER_LDFLAGS) $(TESTCLUSTER_GOBUILDFLAGS)'; } \
		| sha256sum | cut -d' ' -f1); \
	have=$$(cat $(TESTCLUSTER_STAMP) 2>/dev/null || true); \
	missing=; for c in $(TESTCLUSTER_K8S_CMDS); do \
		[ -x $(TESTCLUSTER_BIN)/$$c ] || missing="$$missing $$c"; done; \
	if [ "$$want" = "$$have" ] && [ -z "$$missing" ]; then \
		echo "testcluster: kubernetes $(TESTCLUSTER_K8S_VERSION) binaries up to date"; exit 0; fi; \
	echo "testcluster: building$${missing:+ (missing:$$missing)} $(TESTCLUSTER_K8S_CMDS) (about 10 min when nothing is cached)"; \
	rm -f $(TESTCLUSTER_STAMP); \
	cd $(TESTCLUSTER_DIR) && GOWORK=off $(TESTCLUSTER_GO) build $(TESTCLUSTER_GOBUILDFLAGS) \
		-ldflags '$(TESTCLUSTER_LDFLAGS)' -o $(TESTCLUSTER_BIN)/ \
		$(foreach c,$(TESTCLUSTER_K8S_CMDS),./cmd/$(c)) || exit 1; \
	echo "$$want" > $(TESTCLUSTER_STAMP); \
	echo "testcluster: built kubernetes binaries in $$(( $$(date +%s) - start ))s"

# testcluster (the harness command) and echo (the backend, from the main module).
testcluster-tools:
	@mkdir -p $(TESTCLUSTER_BIN)
	@start=$$(date +%s); \
	(cd $(TESTCLUSTER_DIR) && GOWORK=off $(TESTCLUSTER_GO) build $(TESTCLUSTER_GOBUILDFLAGS) \
		-o $(TESTCLUSTER_BIN)/testcluster ./cmd/testcluster) || exit 1; \
	(cd $(TESTCLUSTER_ROOT) && $(TESTCLUSTER_GO) build $(TESTCLUSTER_GOBUILDFLAGS) \
		-o $(TESTCLUSTER_BIN)/echo ./hack/echo) || exit 1; \
	echo "testcluster: built testcluster and echo in $$(( $$(date +%s) - start ))s"

testcluster-clean:
	rm -f $(TESTCLUSTER_STAMP) $(addprefix $(TESTCLUSTER_BIN)/,$(TESTCLUSTER_K8S_CMDS) testcluster echo)

.DEFAULT_GOAL := $(TESTCLUSTER_SAVED_DEFAULT_GOAL)
