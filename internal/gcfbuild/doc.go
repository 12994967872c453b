// Package gcfbuild holds tests only: they reproduce, offline, how Google
// Cloud Functions' Go buildpack builds the function Presign from this
// module (the upload that .gcloudignore leaves, the one-package check on
// the root directory, the generated functions.local/app main, go mod tidy,
// go build), and they check what the serverless entry points link.
package gcfbuild
