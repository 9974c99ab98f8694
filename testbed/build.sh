#!/usr/bin/env bash
# Builds the testbed binaries from the official Go modules (through the Go module proxy):
#   kube   kube-apiserver, kube-controller-manager, kube-scheduler  (testbed/kube, k8s.io/kubernetes)
#   kubectl kubectl, same k8s.io/kubernetes version and replaces     (testbed/kubectl)
#   etcd   etcd                                                     (testbed/etcd, go.etcd.io/etcd/server/v3)
#   helm   helm                                                     (testbed/helm, helm.sh/helm/v3)
#   node   akri-testbed-node, the kubelet-backed node process, and  (testbed/node)
#          akri-testbed-stub-plugin, Kubernetes' stub device plugin
# and the container nodes' pieces:
#   kubelet    kubelet, kube-proxy (same k8s.io/kubernetes as kube)     (testbed/kubelet)
#   containerd containerd, containerd-shim-runc-v2, ctr (2.x)         (testbed/containerd)
#   crane      crane: `crane registry serve` is the nodes' registry    (testbed/crane)
#   pause      the pod sandbox's pause binary, from Kubernetes' own     (build/pause/linux/pause.c
#              pause.c in the k8s.io/kubernetes module, gcc -static     in the module cache)
#
# Module cache, build cache and binaries live outside the work tree, under
#   ${AKRI_TESTBED_CACHE:-$HOME/.cache/akri-testbed}/{go-mod,go-build,<key>/bin}
# where <key> = <component>-<module version>-<go version>-<hash of the module's inputs>, so a
# component is rebuilt only when its pinned versions, its sources or the Go toolchain change.
# Each build leaves a record of how long each step took next to its binaries, in
#   <key>/build-record.json   {"component", "version", "go", "started", "steps": [{"step", "seconds"}],
#                              "total_seconds", "build_cache_was_empty"}
# (read by tests/bench/test_testbed_bench.py; `--records` prints them all).
#
# Usage: testbed/build.sh [--paths] [component ...]     (default: all components)
#   --paths  build nothing; print "<binary>=<absolute path>" for every binary (existing or not)
#   --records build nothing; print "<component>=<absolute path of its build-record.json>"
set -euo pipefail

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${AKRI_TESTBED_CACHE:-$HOME/.cache/akri-testbed}"
ALL_COMPONENTS=(kube kubectl etcd helm node kubelet containerd crane pause)

export GOMODCACHE="$CACHE_ROOT/go-mod"
export GOCACHE="$CACHE_ROOT/go-build"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

GO_VERSION="$(go env GOVERSION)"

log() { printf '[testbed-build] %s\n' "$*" >&2; }

# module_version DIR MODULE: the version DIR/go.mod requires for MODULE.
module_version() {
	awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

# inputs_hash DIR EXTRA: a short hash of the module's go.mod, go.sum, Go sources and EXTRA (flags).
inputs_hash() {
	local dir="$1" extra="$2"
	{
		printf '%s\n' "$extra"
		(cd "$dir" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -c1-12
}

# ---- per-component facts: binaries, packages, flags -------------------------------------------

kube_version() { module_version "$TESTBED_DIR/kube" k8s.io/kubernetes; }

kube_ldflags() {
	local v major minor
	v="$(kube_version)"
	major="${v#v}"; major="${major%%.*}"
	minor="${v#v*.}"; minor="${minor%%.*}"
	local flags="-s -w" pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=unknown -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	printf '%s' "$flags"
}

helm_ldflags() {
	local v client_go major minor
	v="$(module_version "$TESTBED_DIR/helm" helm.sh/helm/v3)"
	# Same rule as helm's Makefile: capabilities default to the Kubernetes minor of its client-go.
	client_go="$(module_version "$TESTBED_DIR/helm" k8s.io/client-go)"
	major="${client_go#v}"; major=$(( ${major%%.*} + 1 ))
	minor="${client_go#v*.}"; minor="${minor%%.*}"
	local flags="-s -w -X helm.sh/helm/v3/internal/version.version=$v"
	flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
	flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
	flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
	printf '%s' "$flags"
}

# component_info NAME: sets DIR, VERSION, TAGS, LDFLAGS and the parallel arrays BINS / PKGS.
component_info() {
	DIR="$TESTBED_DIR/$1"
	TAGS=""
	case "$1" in
	kube)
		VERSION="$(kube_version)"
		TAGS="selinux,notest,grpcnotrace"
		LDFLAGS="$(kube_ldflags)"
		BINS=(kube-apiserver kube-controller-manager kube-scheduler)
		PKGS=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
			k8s.io/kubernetes/cmd/kube-scheduler)
		;;
	kubectl)
		VERSION="$(module_version "$DIR" k8s.io/kubernetes)"
		TAGS="selinux,notest,grpcnotrace"
		LDFLAGS="$(kube_ldflags)"
		BINS=(kubectl)
		PKGS=(k8s.io/kubernetes/cmd/kubectl)
		;;
	etcd)
		VERSION="$(module_version "$DIR" go.etcd.io/etcd/server/v3)"
		LDFLAGS="-s -w"
		BINS=(etcd)
		PKGS=(go.etcd.io/etcd/server/v3)
		;;
	helm)
		VERSION="$(module_version "$DIR" helm.sh/helm/v3)"
		LDFLAGS="$(helm_ldflags)"
		BINS=(helm)
		PKGS=(helm.sh/helm/v3/cmd/helm)
		;;
	node)
		VERSION="k8s$(module_version "$DIR" k8s.io/kubernetes)"
		TAGS="selinux,notest,grpcnotrace"
		LDFLAGS="-s -w"
		BINS=(akri-testbed-node akri-testbed-stub-plugin)
		PKGS=(. ./cmd/stub-device-plugin)
		;;
	kubelet)
		VERSION="$(module_version "$DIR" k8s.io/kubernetes)"
		TAGS="selinux,notest,grpcnotrace"
		LDFLAGS="$(kube_ldflags)"
		BINS=(kubelet kube-proxy)
		PKGS=(k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
		;;
	containerd)
		VERSION="$(module_version "$DIR" github.com/containerd/containerd/v2)"
		TAGS="no_btrfs,no_devmapper,no_zfs"
		LDFLAGS="-s -w -X github.com/containerd/containerd/v2/version.Version=$VERSION"
		LDFLAGS+=" -X github.com/containerd/containerd/v2/version.Revision=unknown"
		BINS=(containerd containerd-shim-runc-v2 ctr)
		PKGS=(github.com/containerd/containerd/v2/cmd/containerd
			github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
			github.com/containerd/containerd/v2/cmd/ctr)
		;;
	crane)
		VERSION="$(module_version "$DIR" github.com/google/go-containerregistry)"
		LDFLAGS="-s -w"
		BINS=(crane)
		PKGS=(github.com/google/go-containerregistry/cmd/crane)
		;;
	pause)
		# Not a Go build: gcc compiles pause.c from the kube module (see build_pause).
		DIR="$TESTBED_DIR/kube"
		VERSION="$(kube_version)"
		LDFLAGS="-Os -static -DVERSION=$VERSION-akri-testbed"
		BINS=(pause)
		PKGS=(build/pause/linux/pause.c)
		;;
	*)
		log "unknown component: $1 (known: ${ALL_COMPONENTS[*]})"
		exit 2
		;;
	esac
	KEY="$1-$VERSION-$GO_VERSION-$(inputs_hash "$DIR" "$TAGS $LDFLAGS")"
	BIN_DIR="$CACHE_ROOT/$KEY/bin"
	RECORD="$CACHE_ROOT/$KEY/build-record.json"
}

# build_component NAME: builds every binary of NAME into its keyed bin dir unless all exist.
build_component() {
	component_info "$1"
	local missing=0 b
	for b in "${BINS[@]}"; do [[ -x "$BIN_DIR/$b" ]] || missing=1; done
	if (( missing == 0 )); then
		log "$1: up to date in $BIN_DIR"
		return
	fi
	local start step tmp i steps cold=false
	start=$(date +%s.%N)
	[[ -d "$GOCACHE" ]] && [[ -n "$(ls -A "$GOCACHE" 2>/dev/null)" ]] || cold=true
	tmp="$(mktemp -d "$CACHE_ROOT/.build-$1.XXXXXX")"
	if [[ $1 == pause ]]; then build_pause "$start" "$tmp"; return; fi
	log "$1 $VERSION: downloading modules"
	step=$start
	(cd "$DIR" && nice -n 19 go mod download)
	steps="{\"step\": \"modules\", \"seconds\": $(elapsed "$step")}"
	log "$1 $VERSION: modules ready after $(elapsed "$start") s; compiling ${BINS[*]}"
	for i in "${!BINS[@]}"; do
		step=$(date +%s.%N)
		(cd "$DIR" && nice -n 19 go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" \
			-o "$tmp/${BINS[$i]}" "${PKGS[$i]}")
		steps+=", {\"step\": \"${BINS[$i]}\", \"seconds\": $(elapsed "$step")}"
		log "$1: ${BINS[$i]} built at $(elapsed "$start") s ($(du -m "$tmp/${BINS[$i]}" | cut -f1) MiB)"
	done
	mkdir -p "$BIN_DIR"
	for b in "${BINS[@]}"; do mv -f "$tmp/$b" "$BIN_DIR/$b"; done
	rmdir "$tmp"
	printf '{"component": "%s", "version": "%s", "go": "%s", "started": "%s", "steps": [%s], "total_seconds": %s, "build_cache_was_empty": %s}\n' \
		"$1" "$VERSION" "$GO_VERSION" "$(date -u -d "@${start%.*}" +%Y-%m-%dT%H:%M:%SZ)" "$steps" \
		"$(elapsed "$start")" "$cold" >"$RECORD.tmp"
	mv -f "$RECORD.tmp" "$RECORD"
	log "$1: done in $(elapsed "$start") s -> $BIN_DIR (record: $RECORD)"
}

# build_pause START TMP: gcc builds the pause binary from the kube module's own pause.c.
build_pause() {
	local start="$1" tmp="$2" src
	(cd "$DIR" && go mod download k8s.io/kubernetes)
	src="$(cd "$DIR" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/${PKGS[0]}"
	# shellcheck disable=SC2086 # LDFLAGS holds several gcc flags
	gcc $LDFLAGS -o "$tmp/pause" "$src"
	mkdir -p "$BIN_DIR"
	mv -f "$tmp/pause" "$BIN_DIR/pause"
	rmdir "$tmp"
	printf '{"component": "pause", "version": "%s", "go": "%s", "started": "%s", "steps": [{"step": "pause", "seconds": %s}], "total_seconds": %s, "build_cache_was_empty": false}\n' \
		"$VERSION" "$GO_VERSION" "$(date -u -d "@${start%.*}" +%Y-%m-%dT%H:%M:%SZ)" "$(elapsed "$start")" \
		"$(elapsed "$start")" >"$RECORD.tmp"
	mv -f "$RECORD.tmp" "$RECORD"
	log "pause: done in $(elapsed "$start") s -> $BIN_DIR"
}

elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

print_paths() {
	local c b
	for c in "${COMPONENTS[@]}"; do
		component_info "$c"
		for b in "${BINS[@]}"; do printf '%s=%s\n' "$b" "$BIN_DIR/$b"; done
	done
}

print_records() {
	local c
	for c in "${COMPONENTS[@]}"; do
		component_info "$c"
		printf '%s=%s\n' "$c" "$RECORD"
	done
}

main() {
	local mode=build
	if [[ "${1:-}" == "--paths" ]]; then mode=paths; shift; fi
	if [[ "${1:-}" == "--records" ]]; then mode=records; shift; fi
	COMPONENTS=("$@")
	(( ${#COMPONENTS[@]} )) || COMPONENTS=("${ALL_COMPONENTS[@]}")
	mkdir -p "$CACHE_ROOT"
	if [[ $mode == paths ]]; then print_paths; return; fi
	if [[ $mode == records ]]; then print_records; return; fi
	local total c
	total=$(date +%s.%N)
	for c in "${COMPONENTS[@]}"; do build_component "$c"; done
	log "all done in $(elapsed "$total") s (cache: $CACHE_ROOT)"
}

main "$@"
