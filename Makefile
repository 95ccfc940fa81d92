GO ?= go
BIN := bin

.PHONY: build run test bench vet clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

clean:
	rm -rf $(BIN)
