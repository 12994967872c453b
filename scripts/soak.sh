#!/usr/bin/env bash
# Soaks `presign serve`: builds it from this tree and runs it as a child
# process against Versity Gateway (from .tools/bin, as the integration tests
# start it) under bounded mixed traffic on 127.0.0.1 for DURATION (default
# 10m): presigns (the tutorial's GET and PUT, POST /v1/presign), some URLs
# used against the store and read back, multipart uploads through the JSON
# API (some aborted), Uppy-style uploads through the Companion routes, and
# bad requests that must get their 4xx. RSS, goroutines and open file
# descriptors are sampled every 2 s. It fails on any 5xx, unexpected status
# or transport error, or on growth after warm-up (the first 20%, at least
# 10 s): the last third's medians over the first third's by more than RSS
# +10% or +4 MiB, goroutines +10, fds +10. The table of checks is printed at
# the end. What runs is TestSoak in internal/soak.
#
# Usage: scripts/soak.sh [DURATION]    DURATION: Ns, Nm or Nh (at least 30s)
# Env:   SOAK_WORKERS (8), SOAK_RATE (40 requests/s at most)
#
# It installs nothing: scripts/install-test-servers.sh installs Versity
# Gateway. Without it the soak is skipped, but under CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-10m}"
case "${duration}" in
*s) secs=${duration%s} ;;
*m) secs=$((${duration%m} * 60)) ;;
*h) secs=$((${duration%h} * 3600)) ;;
*) secs=x ;;
esac
if ! [[ "${secs}" =~ ^[0-9]+$ ]] || ((secs < 30)); then
	echo "usage: scripts/soak.sh [DURATION]: a whole number of s, m or h, at least 30s (got ${duration})" >&2
	exit 2
fi

# go test's own deadline: the soak, plus building presign, starting the
# servers and stopping them.
out=$(mktemp)
trap 'rm -f "${out}"' EXIT
status=0
go test -count=1 -v -run '^TestSoak$' -timeout "$((secs + 300))s" ./internal/soak/ \
	-args -soak.duration="${secs}s" -soak.workers="${SOAK_WORKERS:-8}" -soak.rate="${SOAK_RATE:-40}" |
	tee "${out}" || status=$?
if grep -q -- '--- SKIP: TestSoak' "${out}"; then
	echo "soak: SKIPPED (a dependency is missing: see above)" >&2
fi
exit "${status}"
