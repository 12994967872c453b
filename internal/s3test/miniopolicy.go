package s3test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"presign.dev/internal/testdep"
)

// MinIOPolicy returns the signing user's policy that docs/minio.md
// recommends, for bucket: the JSON block after the comment that marks it,
// read from the document itself so that tests and document cannot drift.
func MinIOPolicy(tb testing.TB, bucket string) string {
	tb.Helper()
	root, err := testdep.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "minio.md"))
	if err != nil {
		tb.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "(s3test.MinIOPolicy) -->\n```json\n")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		tb.Fatal("docs/minio.md: no policy block after the marker comment")
	}
	return strings.ReplaceAll(block, "BUCKET", bucket)
}
