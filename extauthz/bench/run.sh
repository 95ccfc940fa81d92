#!/usr/bin/env bash
# Benchmark the ext_authz sidecar: Go benchmarks of Check (cached and fresh
# tokens, with allocations), then a gRPC load test with ghz at 50 concurrent
# calls beside a no-op Authorization server measured in the same run.
#
# Usage: extauthz/bench/run.sh [loadtest flags]
# Example: extauthz/bench/run.sh --doc docs/benchmarks.md
# writes the results into the "## ext_authz sidecar" section of that file.
# Set GHZ to a ghz binary to skip the lookup. Everything runs on loopback.
set -euo pipefail

cd "$(dirname "$0")/../.."

# ghz v0.120.0 is the newest release; go install builds it from the Go
# module proxy when it is not installed yet.
ghz_version=v0.120.0
ghz=${GHZ:-}
if [[ -z "$ghz" ]]; then
	gobin=$(go env GOBIN)
	gobin=${gobin:-$(go env GOPATH)/bin}
	if command -v ghz >/dev/null 2>&1; then
		ghz=$(command -v ghz)
	elif [[ -x "$gobin/ghz" ]]; then
		ghz="$gobin/ghz"
	else
		echo "ghz not found: installing github.com/bojand/ghz/cmd/ghz@$ghz_version" >&2
		go install "github.com/bojand/ghz/cmd/ghz@$ghz_version"
		ghz="$gobin/ghz"
	fi
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

echo "== Go benchmarks of Check (in process, no gRPC)"
go test -run '^$' -bench 'BenchmarkCheck' -benchmem ./extauthz/authz/ | tee "$bin/go-bench.txt"

go build -o "$bin/extauthz" ./cmd/extauthz
go build -o "$bin/loadtest" ./extauthz/bench/loadtest

echo
echo "== gRPC load test with $ghz"
"$bin/loadtest" --extauthz "$bin/extauthz" --ghz "$ghz" --go-bench "$bin/go-bench.txt" "$@"
