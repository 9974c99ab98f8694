#!/usr/bin/env bash
# Prints the replace block that pins every k8s.io staging module of k8s.io/kubernetes@<version>
# to its published tag v0.<minor>.<patch>, read from the real go.mod of that version (through the
# Go module proxy, into the testbed's module cache). Paste it into testbed/kube/go.mod and
# testbed/node/go.mod when bumping Kubernetes, then run `go mod tidy` in both.
#
# Usage: testbed/gen-replace.sh v1.37.2
set -euo pipefail
version="${1:?usage: $0 v1.MINOR.PATCH}"
export GOMODCACHE="${AKRI_TESTBED_CACHE:-$HOME/.cache/akri-testbed}/go-mod" GOTOOLCHAIN=local GOFLAGS=-mod=mod
gomod="$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$version" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
staging="v0.${version#v1.}"
echo "replace ("
sed -n '/^replace (/,/^)/p' "$gomod" | awk -v v="$staging" '$3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }'
echo ")"
