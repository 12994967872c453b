//go:build nodevstore

package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestDevWithoutStore: the container image's build (-tags nodevstore) has
// no embedded store, and its presign dev says so and what to do, before
// it creates anything.
func TestDevWithoutStore(t *testing.T) {
	dir := t.TempDir()
	c, _, stderr := testCLI(map[string]string{})
	if status := c.main(context.Background(), []string{"dev", "--data", dir}); status != 1 {
		t.Fatalf("presign dev: exit status %d, want 1", status)
	}
	if msg := stderr.String(); !strings.Contains(msg, "no embedded store") || !strings.Contains(msg, "go install presign.dev/cmd/presign") {
		t.Errorf("presign dev in a build without its store says:\n%s", msg)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		t.Errorf("presign dev wrote into --data before refusing: %v, %v", entries, err)
	}
}
