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
# `make image`: the Dockerfile builds with `make build` and GO_VERSION.
IMAGE ?= ghcr.io/bollard-io/bollard:$(VERSION)
CONTAINER_TOOL ?= docker

.PHONY: all build deps test test-unit haproxy-versions test-haproxy-matrix conformance-gateway fuzz bench-render bench bench-smoke fmt vet clean image docs demo demo-down

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

# HAProxy release lines of the version matrix. hack/haproxy/fetch.sh LINE
# installs one from Debian's archive under .cache/haproxy/LINE (set
# HAPROXY_CACHE to share one cache) and prints its binary; every test that
# runs HAProxy takes the binary from HAPROXY_BIN, else the haproxy on PATH.
HAPROXY_VERSIONS ?= 2.6 3.0 3.2 3.4
# all, or some of: runtime,controller,options,policies,conformance,gateway.
HAPROXY_MATRIX_SUITES ?= all

haproxy-versions:
	@for v in $(HAPROXY_VERSIONS); do hack/haproxy/fetch.sh $$v || exit 1; done

# For each line of HAPROXY_VERSIONS: the real-HAProxy package tests, the
# controller, options and policies e2e suites and the conformance suite with HAPROXY_BIN set
# (hack/haproxymatrix), then docs/haproxy-versions.md from the results. Fails
# after writing it when anything failed.
test-haproxy-matrix: deps testcluster build
	$(GO) run ./hack/haproxymatrix -go '$(GO)' -versions '$(HAPROXY_VERSIONS)' -suites '$(HAPROXY_MATRIX_SUITES)' \
		-timeout $(TEST_TIMEOUT) -out docs/haproxy-versions.md \
		-command 'make test-haproxy-matrix HAPROXY_VERSIONS="$(HAPROXY_VERSIONS)"$(if $(filter-out all,$(HAPROXY_MATRIX_SUITES)), HAPROXY_MATRIX_SUITES=$(HAPROXY_MATRIX_SUITES))'

# The upstream Gateway API conformance suite, profile GATEWAY-HTTP, against the
# test cluster (subnet 198.18.15.0/24), Bollard and the real HAProxy
# (e2e/gatewayconformance). Writes docs/gateway-conformance/report.yaml and
# docs/gateway-conformance.md, then prints the summary; the whole go test -v
# output is kept in .state/gateway-conformance.log.
GATEWAY_CONFORMANCE_LOG := $(CURDIR)/.state/gateway-conformance.log
conformance-gateway: deps testcluster build
	@mkdir -p $(dir $(GATEWAY_CONFORMANCE_LOG))
	@log=$(GATEWAY_CONFORMANCE_LOG); \
	{ BOLLARD_GATEWAY_CONFORMANCE=full $(GO) test -count=1 -timeout 60m -v ./e2e/gatewayconformance 2>&1; \
		echo $$? >"$$log.rc"; } | tee "$$log"; \
	rc=$$(cat "$$log.rc"); rm -f "$$log.rc"; \
	echo; echo "make conformance-gateway: go test's summary (whole output in $$log)"; \
	for r in PASS FAIL SKIP; do \
		echo "  conformance tests $$r: $$(grep -cE "^    --- $$r: TestGatewayConformance/[^/ ]+ " "$$log")"; done; \
	grep -E '^    --- FAIL: TestGatewayConformance/[^/ ]+ |^--- (PASS|FAIL)|^(ok|FAIL)[[:space:]]' "$$log" || true; \
	grep -h '^\*\*Total' docs/gateway-conformance.md 2>/dev/null || true; \
	exit $$rc

# Runs each fuzz target for FUZZTIME (default 10m), one after the other.
# Plain `go test` runs their seeds and testdata/fuzz corpora.
FUZZTIME ?= 10m
FUZZ_TARGETS := pkg/render:FuzzModel pkg/render:FuzzBackends pkg/manifest:FuzzManifest \
	pkg/haproxy:FuzzCommand pkg/haproxy:FuzzMapCommand pkg/haproxy:FuzzTLSSecret
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		$(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

# BenchmarkModelAndRender at 100, 1k and 10k Ingresses.
bench-render:
	$(GO) test ./pkg/render -run '^$$' -bench BenchmarkModelAndRender -benchmem -count 5

# The benchmark suite (hack/bench, docs/benchmarks.md): P1-P7 against a test
# cluster of its own (subnet 198.18.2.0/24), the real HAProxy, echo pods and
# wrk; about 7 minutes on 2 cores, plus 1-2 per extra HAProxy version. It
# prints one summary table and "P2b by HAProxy version", also written to
# $(BENCH_DIR)/results.md beside the controllers' logs.
#
# HAPROXY_BIN is the HAProxy of the whole suite (default: haproxy on PATH).
# BENCH_P2B_VERSIONS lists HAProxy lines (or binaries' paths) whose P2b, a
# new Service at ~140 and at 10k Ingresses, is measured in the same run with
# a controller and HAProxy of their own; hack/haproxy/fetch.sh installs each
# line (not the one HAPROXY_BIN is of: the suite's own rows serve for it).
# A line that cannot be fetched is left out with a message;
# BENCH_P2B_VERSIONS= turns the table off.
BENCH_DIR ?= $(CURDIR)/.state/bench
HAPROXY_BIN ?=
BENCH_P2B_VERSIONS ?= 2.6 3.4
bench: deps testcluster build
	@hack/deps.sh bench
	@mkdir -p $(BENCH_DIR)
	$(GO) test -c -o $(BIN)/bench.test ./hack/bench
	@main="$(HAPROXY_BIN)"; main="$$(command -v "$${main:-haproxy}")" && main="$$(realpath "$$main")" || \
		{ echo "make bench: no HAProxy at HAPROXY_BIN=$(HAPROXY_BIN) (default: haproxy on PATH)" >&2; exit 1; }; \
	line="$$("$$main" -v | sed -n '1s/^HAProxy version \([0-9]*\.[0-9]*\).*/\1/p')"; \
	p2b=; for v in $(BENCH_P2B_VERSIONS); do \
		case "$$v" in \
		*/*) p2b="$$p2b $$(realpath "$$v")" ;; \
		"$$line") p2b="$$p2b $$main" ;; \
		*) if bin="$$(hack/haproxy/fetch.sh "$$v")"; then p2b="$$p2b $$bin"; \
			else echo "make bench: HAProxy $$v could not be fetched; P2b by HAProxy version goes without it" >&2; fi ;; \
		esac; \
	done; \
	echo "make bench: HAProxy $$main ($$line); P2b by HAProxy version with:$${p2b:- none}"; \
	cd hack/bench && HAPROXY_BIN="$$main" $(BIN)/bench.test -test.run '^TestBench$$' -test.v -test.timeout 60m \
		-bench.full -bench.out $(BENCH_DIR)/results.md -bench.logs $(BENCH_DIR) -bench.p2b-versions "$$p2b"

# The same measurements with tiny sizes (`make test` runs them too): they must
# produce numbers and keep the invariants; no timing target is checked. They
# use HAPROXY_BIN from the environment; BENCH_P2B_VERSIONS from the
# environment adds the table by version, from binaries already installed
# (HAPROXY_CACHE, default .cache/haproxy): nothing is fetched.
bench-smoke: deps testcluster build
	$(GO) test -count=1 -run '^TestBench$$' -v ./hack/bench

fmt:
	gofmt -l -w cmd pkg e2e hack templates

vet:
	$(GO) vet ./...

# The container image (needs a container engine; nothing else does).
image:
	$(CONTAINER_TOOL) build --build-arg GO_VERSION=$(GO_VERSION) \
		--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

# docs/flags.md from the cobra commands and docs/annotations.md from the
# option table (hack/flagsdoc and hack/annotationsdoc test that they are current).
docs:
	$(GO) run ./hack/flagsdoc > docs/flags.md.tmp && mv docs/flags.md.tmp docs/flags.md
	$(GO) run ./hack/annotationsdoc > docs/annotations.md.tmp && mv docs/annotations.md.tmp docs/annotations.md

# A local cluster (.state/demo, subnet 198.18.1.0/24), sample backends and
# Bollard with a managed HAProxy on 127.0.0.1:18080/18443, traffic shown.
# `make demo-down` stops it all.
demo: deps testcluster build
	@$(GO) build -o $(BIN)/demo ./hack/demo
	@hack/demo.sh up

demo-down:
	@hack/demo.sh down

clean:
	rm -rf $(BIN)
