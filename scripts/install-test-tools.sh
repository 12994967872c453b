#!/usr/bin/env bash
# Installs the tools the tests use besides Go and the S3 servers, with
# apt-get, each only when it is missing: Debian's Chromium for the browser
# test (cmd/presign TestBrowser; $CHROMIUM overrides its path,
# /usr/bin/chromium by default), Redis for the shared quota store's tests
# (internal/redistest), and curl, openssl, sha256sum and zip for
# the README test (cmd/presign TestREADME runs every command the README
# shows); then the page driver's pinned npm dependencies (playwright-core,
# and jose, with which the demo test verifies receipts as an application
# would; exact versions in package-lock.json) with `npm ci`. Playwright's own
# browser download is not used. Last, the Uppy test's browser bundles
# (cmd/presign TestUppy): for each @uppy/aws-s3 line in
# cmd/presign/testdata/uppy (v6, v5), `npm ci` of its lock file, then the
# pinned esbuild bundles its entry.js into dist/uppy.js; dist/stamp records
# the SHA-256 of the package-lock.json and entry.js it was built from, so an
# unchanged line is skipped and a changed one rebuilt. And Azurite, the Azure
# Storage emulator that internal/azuritetest starts (pinned in
# internal/azuritetest/testdata/package-lock.json): `npm ci` of that lock file
# in .tools/azurite, whose stamp records the lock file's SHA-256, so it is
# installed once and again only when the pin changes. The npm steps run side
# by side.
#
# Without root (and sudo) or apt-get, what is missing is not installed and
# the tests that need it skip; under CI=true that is a failure.
#
# Usage: scripts/install-test-tools.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIVER="${REPO}/cmd/presign/testdata/browser"
UPPY="${REPO}/cmd/presign/testdata/uppy"
AZURITE_LOCK="${REPO}/internal/azuritetest/testdata"
AZURITE="${REPO}/.tools/azurite"

fail() {
	echo "install-test-tools.sh: $*" >&2
	if [ "${CI:-}" = "true" ]; then exit 1; fi
}

# Debian packages, by the command that tells whether each is there.
packages=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || packages+=(chromium)
for tool in curl:curl openssl:openssl sha256sum:coreutils zip:zip redis-server:redis-server; do
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

# uppy_bundle DIR: npm ci and esbuild in DIR (one @uppy/aws-s3 line), unless
# DIR/dist/stamp says the bundle is of the current lock file and entry.
uppy_bundle() {
	local dir="$1" want
	want="$(cat "${dir}/package-lock.json" "${dir}/entry.js" | sha256sum | cut -d' ' -f1)"
	if [ -f "${dir}/dist/uppy.js" ] && [ "$(cat "${dir}/dist/stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	echo "== installing and bundling Uppy ${dir##*/} (npm ci, esbuild)"
	rm -rf "${dir}/dist"
	(
		cd "$dir" &&
			npm ci --no-audit --no-fund --loglevel=error &&
			node_modules/.bin/esbuild entry.js --bundle --format=iife --target=chrome120 \
				--outfile=dist/uppy.js --log-level=warning
	) && echo "$want" >"${dir}/dist/stamp"
}

# azurite_install: npm ci of Azurite's lock file in .tools/azurite, unless
# its stamp says it is installed from the current lock file.
azurite_install() {
	local want
	want="$(cat "${AZURITE_LOCK}/package.json" "${AZURITE_LOCK}/package-lock.json" | sha256sum | cut -d' ' -f1)"
	if [ -x "${AZURITE}/node_modules/.bin/azurite-blob" ] && [ "$(cat "${AZURITE}/stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	echo "== installing Azurite (npm ci into ${AZURITE})"
	rm -rf "${AZURITE}"
	mkdir -p "${AZURITE}"
	cp "${AZURITE_LOCK}/package.json" "${AZURITE_LOCK}/package-lock.json" "${AZURITE}/"
	(cd "${AZURITE}" && npm ci --no-audit --no-fund --loglevel=error) && echo "$want" >"${AZURITE}/stamp"
}

if command -v npm >/dev/null; then
	pids=() what=()
	if [ ! -f "${DRIVER}/node_modules/playwright-core/package.json" ] || [ ! -f "${DRIVER}/node_modules/jose/package.json" ]; then
		echo "== installing the browser driver (npm ci)"
		(cd "${DRIVER}" && npm ci --no-audit --no-fund --loglevel=error) &
		pids+=("$!") what+=("npm ci in ${DRIVER}")
	fi
	for line in v6 v5; do
		uppy_bundle "${UPPY}/${line}" &
		pids+=("$!") what+=("npm ci or esbuild in ${UPPY}/${line}")
	done
	azurite_install &
	pids+=("$!") what+=("npm ci of Azurite in ${AZURITE}")
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "${what[$i]} failed"
	done
else
	fail "npm is missing"
fi
