# edgeproxy — see README.md
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN     := bin/edgeproxy

.PHONY: setup build test lint bench demo clean bench-strategies bench-strategies-smoke bench-strategies-stop bench-strategies-setup

# Packages the tests need on a fresh Debian machine (run as root). python3-qpid-proton
# serves Debian's /usr/bin/python3, which runs the fake skrouterd of the router test harness.
APT_PACKAGES := python3-qpid-proton util-linux procps iproute2 curl

setup:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	$(GO) mod download


build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/edgeproxy

test:
	$(GO) test -race ./...

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Speed and memory targets (docs/performance.md): Go benchmarks, then edgeproxy's own costs
# measured over the router harness (cmd/edgeproxy TestCosts: fake router, or SKROUTERD's;
# EDGEBENCH_ROUNDS rounds, default 3, each idle EDGEBENCH_IDLE, default 60s) with the release build.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./routerconf/ ./health/ ./internal/mgmt/ ./internal/routertest/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 20x ./supervisor/
	EDGEBENCH=1 EDGEPROXY_TEST_BINARY=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 60m \
		-run '^TestCosts$$' ./cmd/edgeproxy/ | grep -v -e '^=== ' -e '^    --- ' -e '^--- '


# The ingress strategies' data path side by side in a lab of network namespaces
# (root; scripts/bench-strategies/, docs/performance.md). SKROUTERD=/path/to/skrouterd
# adds the router and edge strategies; the smoke run (CI) only checks that traffic flows.
BENCH_APT_PACKAGES := nginx iperf3 wrk haproxy iptables iproute2 socat curl jq procps

bench-strategies-setup: setup
	@if ! dpkg -s $(BENCH_APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_APT_PACKAGES); \
	fi

bench-strategies: bench-strategies-setup
	scripts/bench-strategies/bench-strategies.sh run

bench-strategies-smoke: bench-strategies-setup
	scripts/bench-strategies/bench-strategies.sh smoke

bench-strategies-stop:
	scripts/bench-strategies/bench-strategies.sh stop

demo: build
	scripts/demo.sh

# Services across sites with real routers in network namespaces epx-a/b/c
# (root; SKROUTERD=/path/to/skrouterd required): docs/scenario.md.
.PHONY: cross-site
cross-site: build
	scripts/cross-site.sh

clean:
	rm -rf bin dist

# Container image and end-to-end run (images/, docs/compose/; see docs/scenario.md).
IMAGE  ?= localhost/edgeproxy:latest
ENGINE ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null || echo docker)

.PHONY: image e2e e2e-docker e2e-podman e2e-setup

# IMAGE_BUILD_ARGS, e.g. "--build-arg ROUTER_IMAGE=... --build-arg GO_IMAGE=...".
# podman builds OCI images by default, which drop HEALTHCHECK: --format docker keeps it.
IMAGE_FORMAT := $(if $(findstring podman,$(notdir $(ENGINE))),--format docker)
image:
	$(ENGINE) build $(IMAGE_FORMAT) -f images/edgeproxy/Containerfile $(IMAGE_BUILD_ARGS) \
		--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

# Needs root. Installs the engines and debootstrap it uses (a private dockerd,
# then a private `podman system service`, each in its own network namespace; see
# images/e2e/e2e.sh), then runs the scenarios on both: `make e2e` is e2e-docker
# then e2e-podman (the podman run reuses the docker run's debootstrap tarball).
E2E_APT_PACKAGES := docker.io docker-compose debootstrap iproute2 util-linux \
	podman netavark aardvark-dns curl

e2e: e2e-docker e2e-podman

e2e-docker e2e-podman: e2e-%: e2e-setup
	E2E_ENGINE=$* images/e2e/e2e.sh

e2e-setup: setup
	@if ! dpkg -s $(E2E_APT_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(E2E_APT_PACKAGES); \
	fi
