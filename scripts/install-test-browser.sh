#!/usr/bin/env bash
# Installs what the browser test (cmd/presign TestBrowser) needs: Debian's
# Chromium, with apt-get, when it is not there yet ($CHROMIUM overrides its
# path, /usr/bin/chromium by default), and the page driver's pinned npm
# dependency (playwright-core, exact version in package-lock.json) with
# `npm ci`. Playwright's own browser download is not used.
#
# Without root (and sudo) or apt-get, Chromium is not installed and the test
# skips; under CI=true that is a failure.
#
# Usage: scripts/install-test-browser.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIVER="${REPO}/cmd/presign/testdata/browser"

fail() {
	echo "install-test-browser.sh: $*" >&2
	if [ "${CI:-}" = "true" ]; then exit 1; fi
}

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo -n"
	if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
		echo "== installing chromium (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
			fail "apt-get install chromium failed"
		elif [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
			fail "chromium was installed, but ${CHROMIUM:-/usr/bin/chromium} is not an executable (unset CHROMIUM for Debian's)"
		fi
	else
		fail "chromium is missing and apt-get (as root) is not available"
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
