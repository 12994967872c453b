//go:build linux

package azuritetest

import "syscall"

// sysProcAttr puts Azurite in its own process group, so that a terminal's
// Ctrl-C reaches the test binary rather than the server mid-test, and asks
// the kernel to SIGKILL it if the test binary dies without running its
// cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
