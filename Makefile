GO ?= go
BIN := bin
# run needs bash for wait -n.
SHELL := /bin/bash

.PHONY: build run test bench vet clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# run starts the issuer and the sidecar on the embedded SQLite default,
# listening on loopback only. It stops both when either exits or on Ctrl-C.
run: build
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT; trap 'exit 130' INT TERM; \
	GATEPASS_LISTEN=$${GATEPASS_LISTEN:-127.0.0.1:8080} $(BIN)/issuer serve & \
	GATEPASS_ISSUER_URL=$${GATEPASS_ISSUER_URL:-http://localhost:8080} \
	GATEPASS_EXTAUTHZ_LISTEN=$${GATEPASS_EXTAUTHZ_LISTEN:-127.0.0.1:9191} \
	GATEPASS_EXTAUTHZ_METRICS_LISTEN=$${GATEPASS_EXTAUTHZ_METRICS_LISTEN:-127.0.0.1:9192} \
	GATEPASS_POLICY_FILE=$${GATEPASS_POLICY_FILE:-deploy/envoy/policy.yaml} $(BIN)/extauthz serve & \
	wait -n

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# bench runs the benchmarks and writes their results to docs/benchmarks.md.
# Each line runs one component's benchmarks and writes its own section.
bench:
	$(GO) run ./issuer/bench/cmd/issuerbench -doc docs/benchmarks.md
	bash extauthz/bench/run.sh --doc docs/benchmarks.md

clean:
	rm -rf $(BIN)
