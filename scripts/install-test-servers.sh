#!/usr/bin/env bash
# Installs the real S3 servers that the integration tests (internal/s3test)
# run as child processes, at pinned versions, into $REPO/.tools/bin.
#
# Both are built from source with `go install`, so the only network source is
# the Go module proxy (whatever GOPROXY says). A server whose binary is already
# there for the exact pinned version is skipped: each binary has a stamp file
# <name>.version next to it holding "<package>@<version>", written only after a
# successful install, so bumping a version below reinstalls it.
#
# Both builds run in parallel. A cold build takes minutes on a 2-core machine
# (MinIO is the slow one); a rebuild from a warm Go build cache is quick.
#
# Usage: scripts/install-test-servers.sh
# Env:   FORCE=1  reinstall even when the stamp matches.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${REPO}/.tools/bin"
LOGDIR="${REPO}/.tools/log"

# name  package  version
SERVERS=(
	"versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0"
	"minio github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c"
)

mkdir -p "${BIN}" "${LOGDIR}"

# Two runs at once (say two test shells) would race on the same files.
if command -v flock >/dev/null 2>&1; then
	exec 9>"${REPO}/.tools/install.lock"
	flock 9
fi

# go install pkg@version ignores the current module, but not every setting:
# a go.work or a -mod flag in GOFLAGS would make it refuse, so neither is used.
export GOWORK=off
export GOBIN="${BIN}"
export GOFLAGS="-buildvcs=false"

declare -A PIDS=() STARTED=() WANT=()
status=0

for entry in "${SERVERS[@]}"; do
	read -r name pkg version <<<"${entry}"
	want="${pkg}@${version}"
	WANT[${name}]="${want}"
	stamp="${BIN}/${name}.version"
	if [[ "${FORCE:-}" != 1 && -x "${BIN}/${name}" && -f "${stamp}" && "$(<"${stamp}")" == "${want}" ]]; then
		echo "${name} ${version}: up to date (${BIN}/${name})"
		continue
	fi
	rm -f "${stamp}"
	log="${LOGDIR}/${name}.log"
	STARTED[${name}]=${SECONDS}
	# Run from the tools dir so that no go.mod around the caller is consulted.
	(cd "${BIN}" && exec go install "${want}") >"${log}" 2>&1 &
	PIDS[${name}]=$!
done

for entry in "${SERVERS[@]}"; do
	read -r name _ version <<<"${entry}"
	[[ -n "${PIDS[${name}]:-}" ]] || continue
	log="${LOGDIR}/${name}.log"
	if wait "${PIDS[${name}]}"; then
		printf '%s\n' "${WANT[${name}]}" >"${BIN}/${name}.version"
		echo "${name} ${version}: installed in $((SECONDS - STARTED[${name}]))s (${BIN}/${name})"
	else
		echo "${name} ${version}: FAILED after $((SECONDS - STARTED[${name}]))s; last lines of ${log}:" >&2
		tail -n 30 "${log}" >&2 || true
		status=1
	fi
done

exit "${status}"
