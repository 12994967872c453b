//go:build !linux

package azuritetest

import "syscall"

// sysProcAttr: only the test's cleanup stops the server on this platform.
func sysProcAttr() *syscall.SysProcAttr { return nil }
