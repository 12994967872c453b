//go:build !linux

package s3test

import "syscall"

// sysProcAttr: only the tb.Cleanup stops the server on this platform.
func sysProcAttr() *syscall.SysProcAttr { return nil }
