// Package licenses holds only a test. It checks that docs/dependencies.md
// lists every module that presign depends on, at the version that is
// required, with a license from the allow-list. The dependencies are the
// requires of go.mod and bench/go.mod and the packages of the browser test's
// package-lock.json.
package licenses
