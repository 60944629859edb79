package scripting

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadClock is the CPU-time clock of one OS thread, or noClock. Thread clock ids
// are negative; none is -1 (their low bits are 110).
type threadClock int32

const noClock threadClock = -1

// currentThreadClock returns the CPU-time clock of the calling OS thread.
func currentThreadClock() threadClock {
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) from the Linux kernel's posix-timers.
	return threadClock(int32((^uint32(unix.Gettid()))<<3 | 6))
}

// cpu reads the thread's CPU time; -1 when it cannot.
func (c threadClock) cpu() time.Duration {
	if c == noClock {
		return -1
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(c), &ts); err != nil {
		return -1
	}
	return time.Duration(ts.Nano())
}

// release returns no clock: a clock id holds nothing to free.
func (c threadClock) release() threadClock { return noClock }
