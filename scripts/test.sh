#!/usr/bin/env bash
# Runs every test of presign: the one command of the README, and what CI runs.
#
# It installs what the tests need (the real S3 servers, at pinned versions,
# into .tools/bin; Chromium, the page driver and the Uppy bundles for the
# browser tests), then runs vet, the whole suite with -race (unit, fuzz
# seeds, integration against Versity Gateway, MinIO and the embedded dev
# store, the browser tests: TestBrowser, and TestUppy with the published
# @uppy/aws-s3 6.x and 5.x), the allocation contract (meaningless under
# -race), a 60-second soak of presign serve, a short fuzzing pass over every
# fuzz target, the benchmark module's correctness test, and the Kubernetes
# manifests' validation.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-servers.sh
scripts/install-test-tools.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...
go vet -tags nodevstore ./cmd/presign # the container image's build
(cd bench && go vet ./...)

echo "== go test -race"
go test -race -count=1 ./...

# presign serve under a minute of mixed traffic against Versity Gateway: no
# 5xx, no growth of RSS, goroutines or file descriptors (scripts/soak.sh;
# 10 minutes by default, for docs/benchmarks.md).
echo "== soak, 60 s"
scripts/soak.sh 60s

echo "== allocation contract (without -race)"
go test -count=1 -run 'Allocations' ./sigv4/ ./gcsv4/ ./httpapi/

echo "== the container image's build (-tags nodevstore)"
go test -count=1 -tags nodevstore -run 'TestDevWithoutStore' ./cmd/presign/

# The budget is a count of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can report its own -fuzztime deadline as a failure
# ("context deadline exceeded", no failing input; golang/go#75804, fixed in
# Go 1.27). 100000 executions take 1-12 s per target here.
echo "== fuzzing, ${FUZZTIME:=100000x} per target"
# Every fuzz target in the module runs, found by name so none is forgotten.
{ git ls-files '*_test.go' ':!bench/' ':!deploy/kubernetes/' 2>/dev/null || find . -name '*_test.go' -not -path './.tools/*' -not -path '*/node_modules/*' -not -path './bench/*' -not -path './deploy/kubernetes/*'; } |
	xargs grep -H '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' |
	sed -E 's#^([^:]*):func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u |
	while read -r file target; do
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "./$(dirname "$file")/" || exit 1
	done

echo "== benchmark module (correctness only; timings are in docs/benchmarks.md)"
(cd bench && go test -count=1 ./...)

# The Kubernetes manifests: rendered with kustomize, validated by kubeconform
# against the schemas of Kubernetes' own OpenAPI documents (carried by the
# k8s.io/kubernetes module, downloaded once into the module cache), and
# checked for what the README promises. A module of its own, so that
# kustomize and kubeconform stay out of presign's go.mod.
echo "== Kubernetes manifests (deploy/kubernetes)"
(cd deploy/kubernetes && go mod download k8s.io/kubernetes@v1.37.2 && go vet ./... && go test -count=1 ./... &&
	go test -run '^$' -fuzz '^FuzzExpand$' -fuzztime "$FUZZTIME" .)
