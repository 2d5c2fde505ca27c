package process

// UseWatchdog makes every later Start guard its child with a watchdog, as
// on a kernel without a parent-death signal. Call it before any Start.
func UseWatchdog() { orphans = orphansWatchdog }
