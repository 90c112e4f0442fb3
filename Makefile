# Nodewright — see README.md. Two commands matter: `make demo` and `make test`.
export GOTOOLCHAIN := local
GO ?= go
BIN := bin
# Packages free of the embedded control plane: quick to build, checked with the race detector.
PURE_PKGS := ./apis/... ./crds/... ./charts/... ./workflows/... ./activities/... ./worker/... ./starter/... ./lab/ec2sim/... ./lab/sqssim/... ./lab/ssmsim/... ./lab/pricingsim/... ./lab/marketsim/... ./lab/iamsim/... ./lab/ekssim/... ./lab/awsjson/... ./lab/awsquery/... ./lab/iampolicy/... ./iam/... ./lab/simid/... ./lab/localhttp/... ./lab/faultproxy/...
# The engine is single-threaded; its property test checks plans with the kube-scheduler's own
# filter plugins, which are compiled once, without -race, as the lab already needs them.
ENGINE_PKGS := ./schedulerengine/...

.PHONY: all build static image demo test test-unit test-lab chaos bench-e2e lint bench clean generate verify-generated

all: build

# What `starter --version` and `lab --version` print: the commit, with -dirty for uncommitted
# changes. `make static` leaves it "dev": its bytes must not depend on the .git directory.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/ ./worker/cmd/worker ./starter/cmd/starter ./lab/cmd/lab

# The binaries the container image ships, built by this one recipe: the Dockerfile's builder
# runs `make static`, and worker/image's test runs it too, so the test checks what the image
# holds. Static (no cgo, so no libc to find at run time), and free of anything but the source:
# -trimpath drops the build's paths, -buildvcs=false the git state (the Docker context has no
# .git), -buildid= the build ID, -s -w the symbol and debug tables. GOFLAGS is set so that a
# GOFLAGS in the caller's environment cannot change what is built.
STATIC_DIR ?= $(BIN)/static
STATIC_FLAGS := -trimpath -buildvcs=false -ldflags "-s -w -buildid="

static:
	CGO_ENABLED=0 GOFLAGS=-mod=readonly $(GO) build $(STATIC_FLAGS) -o $(STATIC_DIR)/ ./worker/cmd/worker ./starter/cmd/starter

# The container image of the Dockerfile, built by whichever of docker, podman and buildah is
# installed. Its timestamps are the last commit's (SOURCE_DATE_EPOCH) and its revision label the
# commit's, so one commit gives one image; both are --build-args of the Dockerfile.
IMAGE ?= ghcr.io/nodewright/nodewright:dev
CONTAINER_TOOL ?= $(firstword $(foreach tool,docker podman buildah,$(if $(shell command -v $(tool)),$(tool))))
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# podman and buildah stamp their own layers' files and history with --timestamp; BuildKit reads
# the SOURCE_DATE_EPOCH build-arg.
IMAGE_TIMESTAMP_FLAG = $(if $(filter podman buildah,$(CONTAINER_TOOL)),--timestamp $(SOURCE_DATE_EPOCH))

image:
	@if [ -z "$(CONTAINER_TOOL)" ]; then \
		echo "make image needs docker, podman or buildah on the PATH, and none is installed"; \
		echo "(make static builds the two binaries the image holds, into $(BIN)/static)"; exit 1; fi
	@$(CONTAINER_TOOL) info >/dev/null 2>&1 || { \
		echo "$(CONTAINER_TOOL) is installed but cannot build: is its daemon running? '$(CONTAINER_TOOL) info' says why"; exit 1; }
	$(CONTAINER_TOOL) build --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) --build-arg REVISION=$(REVISION) \
		$(IMAGE_TIMESTAMP_FLAG) -t $(IMAGE) .

demo: build
	rm -rf .lab
	./$(BIN)/lab demo

test: lint test-unit test-lab

test-unit:
	$(GO) test -race -count=1 $(PURE_PKGS)
	$(GO) test -count=1 $(ENGINE_PKGS)

# The lab's own packages and the end-to-end tests run real etcd, kube-apiserver,
# kube-scheduler and Temporal in-process; tests/moto runs our AWS calls against moto_server.
test-lab:
	@command -v moto_server >/dev/null || echo "moto tier skipped: moto_server is not on the PATH"
	$(GO) test -count=1 -timeout 30m ./lab/kube/... ./lab/kubelet/... ./lab/temporal/... ./lab/stack/... ./lab/demo/... ./tests/...

# The fault-injection suite (tests/chaos, build tag chaos), not part of `make test`: it runs the
# worker binary against the lab while the lab injects faults, and prints a line of figures per
# scenario. CHAOS_FLAGS sizes it; the issue's full size is
# CHAOS_FLAGS='-nodes 200 -limit-cpu 1000 -kills 20'.
CHAOS_FLAGS ?=
chaos:
	$(GO) build -o $(BIN)/ ./worker/cmd/worker
	$(GO) test -tags chaos -count=1 -v -timeout 180m ./tests/chaos/ -args -worker-bin $(CURDIR)/$(BIN)/worker $(CHAOS_FLAGS)

# The end-to-end scale benchmark (tests/bench, build tag benche2e), not part of `make test`: it
# runs the worker binary against the lab, scales a Deployment of 500m/1Gi pods out to each pod
# count and in to 70 %, and prints a table row per count. BENCH_E2E_FLAGS='-pods 1000' runs
# one row; `go test -tags benche2e ./tests/bench/ -args -h` lists the flags.
BENCH_E2E_FLAGS ?=
bench-e2e:
	$(GO) build -o $(BIN)/ ./worker/cmd/worker
	$(GO) test -tags benche2e -count=1 -v -run TestScale -timeout 240m ./tests/bench/ -args -worker-bin $(CURDIR)/$(BIN)/worker $(BENCH_E2E_FLAGS)

lint: verify-generated
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...; \
	else echo "staticcheck unavailable from the module proxy; skipped"; fi

# The CRDs in crds/ and the deepcopy functions in apis/ are generated from the Go types; the
# Helm chart ships a copy of crds/ (go test ./charts/ fails when it differs).
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0

generate:
	GOFLAGS= $(CONTROLLER_GEN) object crd:crdVersions=v1 paths={./apis/v1,./apis/v1alpha1,./apis/v1beta1,./apis/aws/...} output:crd:dir=./crds
	$(GO) run ./crds/internal/finish ./crds
	cp crds/*.yaml charts/nodewright/crds/

# Fails when the committed CRDs or deepcopy functions differ from what the types generate.
verify-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	git ls-files -z crds apis | tar -c --null -T - | tar -x -C $$tmp && cp go.mod go.sum $$tmp/ && \
	cd $$tmp && GOFLAGS= $(CONTROLLER_GEN) object crd:crdVersions=v1 paths={./apis/v1,./apis/v1alpha1,./apis/v1beta1,./apis/aws/...} output:crd:dir=./crds && \
	$(GO) run ./crds/internal/finish ./crds && cd - >/dev/null && \
	if ! diff -r -q $$tmp/crds crds >/dev/null || ! diff -r -q $$tmp/apis apis >/dev/null; then \
		diff -r $$tmp/crds crds; diff -r $$tmp/apis apis; \
		echo "generated files are stale: run make generate and commit the result"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench BenchmarkSolve -benchtime 1x -count 6 -benchmem ./schedulerengine/

clean:
	rm -rf $(BIN) .lab
