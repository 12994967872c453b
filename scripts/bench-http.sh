#!/usr/bin/env bash
# Measures `presign serve` against a trivial net/http server with wrk, in
# the same run, on loopback (issue 12; docs/benchmarks.md, "Issue 12: HTTP
# speed and memory"). Builds presign from this tree and bench/cmd/trivial,
# then runs bench/cmd/httpbench, which alternates the servers round by round
# and prints req/s, CPU per request, VmHWM and presign's ratios to the
# trivial server.
#
# wrk is Debian's package (apt-get install wrk); it is for benchmarks only.
#
# Usage: scripts/bench-http.sh [httpbench flags]
#   e.g. scripts/bench-http.sh -rounds 5 -duration 5s -log null
# Compare builds in one run: OLD=/path/to/old/presign scripts/bench-http.sh
# (the old build runs as "old", this tree's as "presign", built as the
# container image is: -tags nodevstore; FULL=1 adds the whole CLI as "cli",
# with presign dev's embedded store linked in). NODEV=1 adds
# bench/cmd/profserve as "nodev": serve's wiring without the embedded store
# of `presign dev` linked in, to show what that costs in memory.
#
# Profile mode: scripts/bench-http.sh profile DIR [httpbench flags]
# runs bench/cmd/profserve (presign serve's wiring with pprof on a second
# loopback listener) under wrk, route by route, and writes each route's CPU
# and allocation profiles into DIR with the top of each printed.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench-http.sh: wrk is required (apt-get install wrk)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "bench-http.sh: taskset is required (util-linux)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd bench && go build -trimpath -o "$work/trivial" ./cmd/trivial && go build -o "$work/httpbench" ./cmd/httpbench)

if [ "${1:-}" = profile ]; then
	dir=${2:?usage: scripts/bench-http.sh profile DIR [flags]}
	shift 2
	(cd bench && go build -o "$dir/profserve" ./cmd/profserve)
	"$work/httpbench" -trivial "$work/trivial" -presign "profserve=$dir/profserve" -profile "$dir" "$@"
	for cpu in "$dir"/*-cpu.prof; do
		r=$(basename "$cpu" -cpu.prof)
		echo "== $r: CPU (flat)"; go tool pprof -top -nodecount=30 "$dir/profserve" "$cpu" 2>/dev/null | sed -n '4,40p'
		echo "== $r: CPU (cumulative)"; go tool pprof -top -cum -nodecount=40 "$dir/profserve" "$cpu" 2>/dev/null | sed -n '6,50p'
		echo "== $r: allocations (objects, during the run)"
		go tool pprof -top -sample_index=alloc_objects -nodecount=30 -base "$dir/$r-allocs-0.prof" "$dir/profserve" "$dir/$r-allocs-1.prof" 2>/dev/null | sed -n '4,40p'
	done
	exit 0
fi
# presign as the container image builds it (Dockerfile: -tags nodevstore,
# no embedded store of `presign dev`); FULL=1 adds the whole CLI as "cli".
go build -trimpath -tags nodevstore -o "$work/presign" ./cmd/presign

builds=(-presign "presign=$work/presign")
if [ -n "${FULL:-}" ]; then
	go build -trimpath -o "$work/presign-cli" ./cmd/presign
	builds+=(-presign "cli=$work/presign-cli")
fi
if [ -n "${OLD:-}" ]; then
	builds=(-presign "old=$OLD" "${builds[@]}")
fi
if [ -n "${NODEV:-}" ]; then
	(cd bench && go build -trimpath -o "$work/profserve" ./cmd/profserve)
	builds+=(-presign "nodev=$work/profserve")
fi
echo "go: $(go version); nproc: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
"$work/httpbench" -trivial "$work/trivial" "${builds[@]}" "$@"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
