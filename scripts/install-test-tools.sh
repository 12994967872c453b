#!/usr/bin/env bash
# Installs the tools the tests use besides Go and the S3 servers, with
# apt-get, each only when it is missing: Debian's Chromium for the browser
# test (cmd/presign TestBrowser; $CHROMIUM overrides its path,
# /usr/bin/chromium by default), and curl, openssl, sha256sum and zip for
# the README test (cmd/presign TestREADME runs every command the README
# shows); then the page driver's pinned npm dependency (playwright-core,
# exact version in package-lock.json) with `npm ci`. Playwright's own
# browser download is not used.
#
# Without root (and sudo) or apt-get, what is missing is not installed and
# the tests that need it skip; under CI=true that is a failure.
#
# Usage: scripts/install-test-tools.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIVER="${REPO}/cmd/presign/testdata/browser"

fail() {
	echo "install-test-tools.sh: $*" >&2
	if [ "${CI:-}" = "true" ]; then exit 1; fi
}

# Debian packages, by the command that tells whether each is there.
packages=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || packages+=(chromium)
for tool in curl:curl openssl:openssl sha256sum:coreutils zip:zip; do
	command -v "${tool%%:*}" >/dev/null || packages+=("${tool#*:}")
done
if [ "${#packages[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo -n"
	if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
		echo "== installing ${packages[*]} (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
			fail "apt-get install ${packages[*]} failed"
		elif [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
			fail "chromium was installed, but ${CHROMIUM:-/usr/bin/chromium} is not an executable (unset CHROMIUM for Debian's)"
		fi
	else
		fail "${packages[*]} missing and apt-get (as root) is not available"
	fi
fi

if command -v npm >/dev/null; then
	if [ ! -f "${DRIVER}/node_modules/playwright-core/package.json" ]; then
		echo "== installing the browser driver (npm ci)"
		(cd "${DRIVER}" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
	fi
else
	fail "npm is missing"
fi
