//go:build !linux

package sandbox

import (
	"syscall"
	"time"
)

// reducedProtection says what sandboxes lack here, for the warning at start: the
// limits below need Linux.
const reducedProtection = "no hard memory limit (only the Go runtime's soft limit), no CPU-time limit of a sandbox as a whole (its wall-clock limit applies), and a sandbox does not end at once with a killed worker; run workers on Linux when scripts are not fully trusted"

// limitMemory is a soft limit only where RLIMIT_DATA is not available: the Go
// collector's memory limit. The parent's wall-clock limit still ends runaway scripts.
func limitMemory(limit int64) error { return nil }

func childAttr() *syscall.SysProcAttr { return nil }

// cpuOf cannot read another process's CPU time here: the wall-clock limit applies.
func cpuOf(pid int) time.Duration { return -1 }

// totalMemory is unknown here: DefaultCachedExecutions falls back to 128.
func totalMemory() int64 { return 0 }
