//go:build !linux

package sandbox

import (
	"syscall"
	"time"
)

// limitMemory is a soft limit only where RLIMIT_DATA is not available: the Go
// collector's memory limit. The parent's wall-clock limit still ends runaway scripts.
func limitMemory(limit int64) error { return nil }

func childAttr() *syscall.SysProcAttr { return nil }

// cpuOf cannot read another process's CPU time here: the wall-clock limit applies.
func cpuOf(pid int) time.Duration { return -1 }

// totalMemory is unknown here: DefaultCachedExecutions falls back to 128.
func totalMemory() int64 { return 0 }
