#!/usr/bin/env bash
# The Go example discovery handler: build it, or regenerate its protocol code.
#
#   bash examples/handlers/go/build.sh            build a static binary (CGO_ENABLED=0) into
#                                                 examples/handlers/go/bin/names-discovery-handler
#   bash examples/handlers/go/build.sh --out PATH build it to PATH instead
#   bash examples/handlers/go/build.sh check      gofmt, go vet and the unit tests
#   bash examples/handlers/go/build.sh generate   regenerate v0/*.pb.go from
#                                                 proto/akri_proto/discovery/v0/discovery.proto
#                                                 (grpc_tools.protoc from .venv, protoc-gen-go and
#                                                 protoc-gen-go-grpc built from the Go module proxy;
#                                                 `generate --check` only compares)
#
# Module and build caches live outside the tree and are shared with the testbed build:
# ${AKRI_TESTBED_CACHE:-$HOME/.cache/akri-testbed}/{go-mod,go-build}; the protoc plugins go to
# .../go-tools/<version>/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE_ROOT="${AKRI_TESTBED_CACHE:-$HOME/.cache/akri-testbed}"
export GOMODCACHE="$CACHE_ROOT/go-mod"
export GOCACHE="$CACHE_ROOT/go-build"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.0
MODULE=github.com/akri-py/akri-py/examples/handlers/go

log() { printf '[go-handler] %s\n' "$*" >&2; }

generate() {
	local check_only="${1:-false}"
	local tools="$CACHE_ROOT/go-tools/protoc-gen-go-$PROTOC_GEN_GO_VERSION-grpc-$PROTOC_GEN_GO_GRPC_VERSION"
	if [[ ! -x "$tools/protoc-gen-go" || ! -x "$tools/protoc-gen-go-grpc" ]]; then
		log "building protoc-gen-go $PROTOC_GEN_GO_VERSION and protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION"
		mkdir -p "$tools"
		GOFLAGS="-buildvcs=false" GOBIN="$tools" go install \
			"google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
		GOFLAGS="-buildvcs=false" GOBIN="$tools" go install \
			"google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
	fi
	local proto=akri_proto/discovery/v0/discovery.proto
	local mapping="M$proto=$MODULE/v0;v0"
	local out
	out="$(mktemp -d)"
	trap 'rm -rf "$out"' RETURN
	"$ROOT/.venv/bin/python" -m grpc_tools.protoc -I "$ROOT/proto" \
		--plugin=protoc-gen-go="$tools/protoc-gen-go" \
		--plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc" \
		--go_out="$out" --go_opt=paths=source_relative --go_opt="$mapping" \
		--go-grpc_out="$out" --go-grpc_opt=paths=source_relative --go-grpc_opt="$mapping" \
		"$ROOT/proto/$proto"
	# paths=source_relative writes under the proto's own directories; the files live flat in v0/.
	if [[ "$check_only" == true ]]; then
		diff -r "$out/akri_proto/discovery/v0" "$HERE/v0" >&2 || {
			log "v0/ is stale: run bash examples/handlers/go/build.sh generate"
			exit 1
		}
		log "v0/ matches the .proto"
		return
	fi
	cp "$out/akri_proto/discovery/v0/"*.go "$HERE/v0/"
	log "generated $(cd "$HERE" && ls v0/*.go | tr '\n' ' ')"
}

build() {
	local out="$1"
	mkdir -p "$(dirname "$out")"
	(cd "$HERE" && GOFLAGS="-mod=readonly -buildvcs=false -trimpath" \
		go build -ldflags="-s -w" -o "$out" .)
	log "built $out"
}

check() {
	local unformatted
	unformatted="$(cd "$HERE" && gofmt -l $(ls *.go))"
	[[ -z "$unformatted" ]] || { log "not gofmt-formatted: $unformatted"; exit 1; }
	(cd "$HERE" && GOFLAGS="-mod=readonly -buildvcs=false" go vet ./... && \
		GOFLAGS="-mod=readonly -buildvcs=false" go test ./...)
}

case "${1:-}" in
generate) [[ "${2:-}" == --check ]] && generate true || generate ;;
check) check ;;
--out) build "$(realpath -m "${2:?--out needs a path}")" ;;
"") build "$HERE/bin/names-discovery-handler" ;;
*) log "unknown argument: $1"; exit 2 ;;
esac
