#!/usr/bin/env bash
# Runs every test of presign: the one command of the README, and what CI runs.
#
# It installs what the tests need (the real S3 servers, at pinned versions,
# into .tools/bin), then runs vet, the whole suite with -race (unit, fuzz
# seeds, integration against Versity Gateway, MinIO and the embedded dev
# store), the allocation contract (meaningless under -race), a short fuzzing
# pass over every parser and encoder, and the benchmark module's correctness
# test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-servers.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...
(cd bench && go vet ./...)

echo "== go test -race"
go test -race -count=1 ./...

echo "== allocation contract (without -race)"
go test -count=1 -run 'Allocations' ./sigv4/

echo "== fuzzing, ${FUZZTIME:=5s} per target"
fuzz() { go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1"; }
fuzz ./sigv4/ FuzzPresignMatchesSDK
fuzz ./sigv4/ FuzzPostPolicyNoInjection
fuzz ./presign/ FuzzValidateKey
fuzz ./presign/ FuzzContentDisposition
fuzz ./internal/config/ FuzzFromEnv
fuzz ./internal/config/ FuzzLoadYAML
fuzz ./policy/ FuzzOwnPrefix
fuzz ./policy/ FuzzValidatePattern
fuzz ./internal/jwtauth/ FuzzVerify
fuzz ./internal/jwtauth/ FuzzParseJWK
fuzz ./internal/jwtauth/ FuzzParseJWKS
fuzz ./httpapi/ FuzzDecodePresignRequest
fuzz ./httpapi/ FuzzDecodeEncodedRequest
fuzz ./httpapi/ FuzzAppendString

echo "== benchmark module (correctness only; timings are in docs/benchmarks.md)"
(cd bench && go test -count=1 ./...)
