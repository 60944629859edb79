package scripting

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wallLimit stops a script that has not waited for this long, whatever its CPU time:
// Temporal's deadlock detector fails a workflow task whose goroutine does not yield
// in time (engine sets it to 5 s), and a failed task would be retried forever instead
// of ending the flow.
const wallLimit = 3 * time.Second

// meter enforces the CPU budget of one step (the computing between two waits). On
// Linux it measures the CPU time of the OS thread that runs the script, so that a
// script that merely waits for a busy CPU is not blamed for it; elsewhere, or if the
// thread clock cannot be read, it measures wall time.
type meter struct {
	budget time.Duration
	stop   func(over any) // interrupts the script with a budgetExceeded value

	mu        sync.Mutex
	running   bool
	clock     int32 // the thread's CPU clock, or -1
	startCPU  time.Duration
	startWall time.Time
	timer     *time.Timer
	gen       int // invalidates the checks of an earlier step
}

// start begins a step on the calling goroutine, which it locks to its OS thread.
func (m *meter) start() {
	runtime.LockOSThread()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running, m.gen = true, m.gen+1
	m.clock = threadClock()
	m.startCPU = cpuTime(m.clock)
	m.startWall = time.Now()
	gen := m.gen
	m.timer = time.AfterFunc(min(m.budget, wallLimit), func() { m.check(gen) })
}

// pause ends the step before a wait and unlocks the thread.
func (m *meter) pause() {
	m.mu.Lock()
	m.running = false
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
	runtime.UnlockOSThread()
}

// check runs on a timer: it interrupts a step past its budget, or looks again later.
func (m *meter) check(gen int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running || gen != m.gen {
		return
	}
	wall := time.Since(m.startWall)
	used := wall
	if m.clock >= 0 {
		used = cpuTime(m.clock) - m.startCPU
	}
	switch {
	case used >= m.budget:
		m.running = false
		m.stop(budgetExceeded{budget: m.budget})
	case wall >= wallLimit:
		m.running = false
		m.stop(budgetExceeded{budget: m.budget, wall: wall})
	default:
		next := min(m.budget-used, wallLimit-wall)
		m.timer = time.AfterFunc(max(next, 5*time.Millisecond), func() { m.check(gen) })
	}
}

// threadClock returns the CPU-time clock of the calling OS thread, or -1.
func threadClock() int32 {
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) from the Linux kernel's posix-timers.
	clock := int32((^uint32(unix.Gettid()))<<3 | 6)
	if cpuTime(clock) < 0 {
		return -1
	}
	return clock
}

// cpuTime reads a CPU-time clock; -1 when it cannot.
func cpuTime(clock int32) time.Duration {
	if clock < 0 {
		return -1
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return -1
	}
	return time.Duration(ts.Nano())
}
