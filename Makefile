# Nodewright — see README.md. Two commands matter: `make demo` and `make test`.
export GOTOOLCHAIN := local
GO ?= go
BIN := bin
# Packages free of the embedded control plane: quick to build, checked with the race detector.
PURE_PKGS := ./apis/... ./workflows/... ./activities/... ./worker/... ./starter/... ./lab/ec2sim/... ./lab/sqssim/... ./lab/simid/... ./lab/localhttp/...
# The engine is single-threaded; its property test checks plans with the kube-scheduler's own
# filter plugins, which are compiled once, without -race, as the lab already needs them.
ENGINE_PKGS := ./schedulerengine/...

.PHONY: all build demo test test-unit test-lab lint bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./worker/cmd/worker ./starter/cmd/starter ./lab/cmd/lab

demo: build
	rm -rf .lab
	./$(BIN)/lab demo

test: lint test-unit test-lab

test-unit:
	$(GO) test -race -count=1 $(PURE_PKGS)
	$(GO) test -count=1 $(ENGINE_PKGS)

# The lab's own packages and the end-to-end tests run real etcd, kube-apiserver,
# kube-scheduler and Temporal in-process.
test-lab:
	$(GO) test -count=1 -timeout 30m ./lab/kube/... ./lab/kubelet/... ./lab/temporal/... ./lab/stack/... ./lab/demo/... ./tests/...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...; \
	else echo "staticcheck unavailable from the module proxy; skipped"; fi

bench:
	$(GO) test -run '^$$' -bench BenchmarkSolve -benchtime 1x -count 6 -benchmem ./schedulerengine/

clean:
	rm -rf $(BIN) .lab
