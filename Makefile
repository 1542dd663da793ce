# Stride — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 5s

.PHONY: run build server ui ui-deps test test-go test-fuzz test-e2e bench lint dev clean

## run: build the UI and the server, then start on the embedded store with the demo tenant
run: build
	./bin/stride serve

## build: the single binary with the web UI embedded
build: ui server

server:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/stride ./cmd/stride

ui-deps: ui/node_modules/.package-lock.json

ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund

ui: ui-deps
	cd ui && npm run build

## test: vet, unit + integration tests (race detector, both stores), short fuzzing, UI end to end in Chromium
test: lint test-go test-fuzz test-e2e

test-go:
	$(GO) test -race -count=1 -timeout 30m ./...

test-fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

test-e2e: build
	./scripts/ensure-chromium.sh
	cd ui && npm run test:e2e

## bench: run the benchmarks and write BENCHMARKS.md
bench:
	./scripts/bench.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './ui/node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## dev: the server plus Vite's dev server with hot reload (UI on :5173, API proxied to :8080)
dev: server ui-deps
	(./bin/stride serve & echo $$! > /tmp/stride-dev.pid; cd ui && npm run dev; kill $$(cat /tmp/stride-dev.pid))

clean:
	rm -rf bin ui/dist/assets ui/dist/index.html
