# Cairn — see README.md. `make run` starts a registry, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
SQLC := cd tools && $(GO) tool sqlc -f ../sqlc.yaml
TEMPL := $(GO) tool templ
# Test timeout per package; the whole suite stays well under 15 minutes.
TEST_TIMEOUT ?= 12m

.PHONY: all build run test test-unit testdeps check generate bench soak fuzz clean fmt chart-test bench-scale

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cairn ./cmd/cairn

run: build
	bin/cairn serve

# Components the tests build themselves (the pinned MinIO server) are
# prepared first so no test spends its timeout compiling them.
testdeps:
	$(GO) run ./internal/testenv/cmd/testdeps

test: build testdeps
	CAIRN_BIN=$(CURDIR)/bin/cairn $(GO) test -p 2 -timeout $(TEST_TIMEOUT) -count=1 ./...
	$(MAKE) --no-print-directory fuzz FUZZ_TIME=2s

# Go fuzz targets (package:target). `make test` runs each for a short,
# fixed time; `make fuzz` for FUZZ_TIME each (longer). A crasher is saved
# under the package's testdata/fuzz and becomes a regular test case.
FUZZ_TIME ?= 60s
FUZZ_TARGETS := ./modules/archive:FuzzScanTarGz ./modules/archive:FuzzScanZip ./modules/archive:FuzzLinkResolution \
	./modules/version:FuzzParse ./modules/version:FuzzCompare ./modules/markdown:FuzzRender \
	./modules/metadata:FuzzExtract ./modules/metadata:FuzzRewriteExampleSource
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name in $$pkg for $(FUZZ_TIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZ_TIME) >/tmp/cairn-fuzz.log 2>&1 || { cat /tmp/cairn-fuzz.log; exit 1; }; \
	done

test-unit:
	$(GO) test -short -count=1 ./...

generate:
	$(SQLC) generate
	$(TEMPL) generate

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(TEMPL) fmt views

check:
	@big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$$1 > 5*1024*1024 {print $$2}'); if [ -n "$$big" ]; then echo "tracked files over 5 MB (build outputs must not be committed):"; echo "$$big"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(SQLC) diff
	$(TEMPL) generate
	@git diff --exit-code -- views || { echo "templ output is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- views | grep '_templ.go')" || { echo "untracked templ output: run make generate and commit"; exit 1; }

# Benchmarks print their figures: authorization with 100k memberships, registry
# load at 32 connections against a /healthz ceiling, peak RSS for a 200 MiB
# module, search over 10,000 modules, publishing a 500-file module.
bench: build testdeps
	$(GO) test -run '^$$' -bench . -benchtime 2s ./policies/
	CAIRN_BIN=$(CURDIR)/bin/cairn $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./e2e/

# Soak: mixed reads, uploads and searches at 32 connections against the
# binary for 10 minutes (CAIRN_SOAK_SECONDS overrides); prints RSS and
# thread count at start and end, fails on any error response.
soak: build testdeps
	CAIRN_SOAK=1 CAIRN_BIN=$(CURDIR)/bin/cairn $(GO) test -run '^TestSoak$$' -count=1 -v -timeout 30m ./e2e/

# The Helm chart (deploy/helm/cairn): helm lint --strict and helm template for
# three value sets (minimal; S3 + external PostgreSQL + ingress; HA with 3
# replicas), the rendered manifests checked; and the Dockerfile, checked
# statically (no Docker engine needed) plus its static binary's behaviour.
chart-test:
	$(GO) run ./internal/testenv/cmd/testdeps
	$(GO) test -count=1 -v -run 'TestChart|TestDockerfile|TestImageBinary' ./deploy/

# Scale: seeds 100,000 modules in 10,000 groups (1,000,000 versions, 100,000
# memberships) through SQL and prints the figures at 32 connections. Heavy
# (several minutes, a few GiB of database); not part of make test.
bench-scale: build testdeps
	CAIRN_BENCH_SCALE=1 CAIRN_BIN=$(CURDIR)/bin/cairn $(GO) test -run '^$$' -bench '^BenchmarkScale100k$$' -benchtime 1x -timeout 60m -v ./e2e/

clean:
	rm -rf bin
