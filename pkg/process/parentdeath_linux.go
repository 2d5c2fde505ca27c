package process

import "syscall"

// killOnParentDeath asks the kernel to send the child SIGKILL when its
// parent dies, and reports that it will.
func killOnParentDeath(attr *syscall.SysProcAttr) bool {
	attr.Pdeathsig = syscall.SIGKILL
	return true
}
