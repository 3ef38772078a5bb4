# HelixTrack Attachments: build, test and run the single binary.
# `make help` lists the targets. Variables worth overriding:
#   PKGS      packages for test, cover and fuzz   (default ./...)
#   FUZZTIME  time per fuzz target                (default 10s)
#   ARGS      extra arguments for `make run`      (e.g. ARGS='--config c.json')
#   VERSION   release stamped into the binary     (default: git describe)

GO       ?= go
BIN      := bin/attachments
PKGS     ?= ./...
FUZZTIME ?= 10s
ARGS     ?=
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null)
# Without a version (no commits yet) the binary keeps node.Version's default.
LDFLAGS  := $(if $(VERSION),-X github.com/helixtrack/attachments/node.Version=$(VERSION))

.DEFAULT_GOAL := build
.PHONY: build run test cover fuzz demo cluster clean help

## build: compile bin/attachments, statically (CGO_ENABLED=0)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/attachments

## run: build, then serve a development node from the embedded defaults
run: build
	$(BIN) serve $(ARGS)

## test: go vet, then every test with the race detector
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)

## cover: run the tests with coverage; print it per package and in total
cover:
	$(GO) test -covermode=atomic -coverprofile=coverage.out $(PKGS)
	@$(GO) tool cover -func=coverage.out | tail -n 1

## fuzz: run every fuzz target of PKGS, one at a time, for FUZZTIME each
# go test -fuzz accepts one target per run, so targets are listed first.
# A package whose tests do not compile stops the loop rather than being
# skipped as if it had no targets.
fuzz:
	@set -e; \
	for pkg in $$($(GO) list $(PKGS)); do \
		list=$$($(GO) test -list 'Fuzz.*' $$pkg); \
		for target in $$(printf '%s\n' "$$list" | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## demo: build, then run scripts/demo.sh against the binary
demo: build
	bash scripts/demo.sh

## cluster: build, then start 3 local nodes in ./cluster-data with scripts/cluster.sh
cluster: build
	bash scripts/cluster.sh up 3 ./cluster-data

## clean: remove the binary and coverage output (never ./data)
clean:
	rm -rf bin coverage.out

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
