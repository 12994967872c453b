//go:build linux

package s3test

import "syscall"

// sysProcAttr puts the server in its own process group, so that a terminal's
// Ctrl-C or Ctrl-Z reaches the test binary rather than the server mid-test,
// and asks the kernel to SIGKILL the server if the test binary dies without
// running its cleanups (a panic, a -timeout, a SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
