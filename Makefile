GO ?= go
BIN := bin

.PHONY: build run test bench vet clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# run starts the issuer and the sidecar on the embedded SQLite default and
# stops both on Ctrl-C.
run: build
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/issuer serve & \
	GATEPASS_ISSUER_URL=$${GATEPASS_ISSUER_URL:-http://localhost:8080} \
	GATEPASS_POLICY_FILE=$${GATEPASS_POLICY_FILE:-deploy/envoy/policy.yaml} $(BIN)/extauthz serve & \
	wait

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# bench runs the benchmarks and writes their results to docs/benchmarks.md.
# Each line runs one component's benchmarks and writes its own section.
bench:
	$(GO) run ./issuer/bench/cmd/issuerbench -doc docs/benchmarks.md

clean:
	rm -rf $(BIN)
