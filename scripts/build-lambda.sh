#!/usr/bin/env bash
# Builds the AWS Lambda function (runtime provided.al2023): the executable
# bootstrap of cmd/presign-lambda for linux/amd64 and linux/arm64, each
# zipped alone as dist/presign-lambda-<arch>.zip, ready for
#   aws lambda create-function --runtime provided.al2023 --handler bootstrap \
#     --architectures x86_64|arm64 --zip-file fileb://dist/presign-lambda-<arch>.zip ...
#
# Tags: lambda.norpc leaves out aws-lambda-go's legacy RPC mode (the
# provided.al2023 runtime speaks the Runtime API over HTTP); nethttpomithttp2
# leaves out net/http's HTTP/2 client, which the function never needs (the
# Runtime API, JWKS endpoints and S3 speak HTTP/1.1): about 110 KB of code,
# 155 KB of the zip (docs/benchmarks.md).
#
# The zips are reproducible: same source and Go version, same bytes (no
# build ID, VCS stamp or paths in the binary; a fixed mtime, mode 0755 and no
# extra fields in the zip). SOURCE_DATE_EPOCH overrides the fixed mtime.
#
# Usage: scripts/build-lambda.sh [arch...]   (default: amd64 arm64)
set -euo pipefail

cd "$(dirname "$0")/.."
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
mtime=${SOURCE_DATE_EPOCH:-946684800} # 2000-01-01T00:00:00Z
command -v zip >/dev/null || { echo "build-lambda.sh: zip is required (apt-get install zip)" >&2; exit 1; }

mkdir -p dist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for arch in "${archs[@]}"; do
	case $arch in amd64 | arm64) ;; *) echo "build-lambda.sh: unknown arch $arch (amd64 or arm64)" >&2; exit 2 ;; esac
	mkdir -p "$work/$arch"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -tags lambda.norpc,nethttpomithttp2 -trimpath -buildvcs=false \
		-ldflags='-s -w -buildid=' -o "$work/$arch/bootstrap" ./cmd/presign-lambda
	chmod 0755 "$work/$arch/bootstrap"
	touch -d "@$mtime" "$work/$arch/bootstrap"
	out="$PWD/dist/presign-lambda-$arch.zip"
	rm -f "$out"
	# -X: no extra fields (uid/gid, extended timestamps); TZ=UTC: DOS times are local.
	(cd "$work/$arch" && TZ=UTC zip -q -X -9 "$out" bootstrap)
	printf '%s\t%s bytes (bootstrap %s bytes)\tsha256 %s\n' "dist/presign-lambda-$arch.zip" \
		"$(stat -c %s "$out")" "$(stat -c %s "$work/$arch/bootstrap")" "$(sha256sum "$out" | cut -d' ' -f1)"
done
