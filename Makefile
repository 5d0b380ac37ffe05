# Bollard. `make test` and `make demo` install what they need on a fresh
# Debian machine with Go (haproxy and iproute2 through apt-get).

GO ?= go
GO_VERSION := 1.26
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/bollard-io/bollard/pkg/version.version=$(VERSION) \
	-X github.com/bollard-io/bollard/pkg/version.commit=$(COMMIT)
BIN := $(CURDIR)/bin
TEST_TIMEOUT ?= 30m

.PHONY: all build deps test test-unit fuzz bench-render fmt vet clean

all: build

include hack/testcluster/testcluster.mk

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bollard ./cmd/bollard

# System packages the tests and the demo need.
deps:
	@hack/deps.sh

# Every test: unit, golden, fuzz seed corpora, real-HAProxy routing tests and
# the e2e suites against the real test cluster.
test: deps testcluster build
	@start=$$(date +%s); \
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... ; rc=$$?; \
	echo "make test: go test ./... took $$(( $$(date +%s) - start ))s"; \
	(cd hack/testcluster && GOWORK=off $(GO) test -count=1 ./internal/...) || rc=1; \
	exit $$rc

# Only the tests that need no cluster.
test-unit: deps
	$(GO) test -count=1 ./pkg/... ./cmd/...

# Runs each fuzz target for FUZZTIME (default 10m).
FUZZTIME ?= 10m
fuzz:
	$(GO) test ./pkg/render -run '^$$' -fuzz '^FuzzModel$$' -fuzztime $(FUZZTIME)

# BenchmarkModelAndRender at 100, 1k and 10k Ingresses.
bench-render:
	$(GO) test ./pkg/render -run '^$$' -bench BenchmarkModelAndRender -benchmem -count 5

fmt:
	gofmt -l -w cmd pkg e2e hack templates

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
