//go:build !linux

package process

import "syscall"

// killOnParentDeath reports that this kernel has no parent-death signal
// (macOS and the BSDs): the child gets a watchdog instead.
func killOnParentDeath(*syscall.SysProcAttr) bool { return false }
