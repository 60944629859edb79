package scripting

import (
	"runtime"
	"sync"
	"time"
)

// wallLimit stops a script that has not waited for this long, whatever its CPU time:
// Temporal's deadlock detector fails a workflow task whose goroutine does not yield
// in time (engine sets it to 5 s), and a failed task would be retried forever instead
// of ending the flow.
const wallLimit = 3 * time.Second

// meter enforces the CPU budget of one step (the computing between two waits). It
// measures the CPU time of the OS thread that runs the script, so that a script that
// merely waits for a busy CPU is not blamed for it: on Linux with the thread's CPU
// clock, on Windows with GetThreadTimes. On macOS (whose thread_info needs cgo, and
// flowd builds without it) and other systems, or when the thread's time cannot be
// read, it measures wall time instead: there a script on a busy machine can be
// stopped before it has used its budget of CPU.
type meter struct {
	budget time.Duration
	stop   func(over any) // interrupts the script with a budgetExceeded value

	mu        sync.Mutex
	running   bool
	clock     threadClock   // of the thread that runs the step
	startCPU  time.Duration // -1: the thread's time cannot be read, wall time counts
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
	m.clock = currentThreadClock()
	m.startCPU = m.clock.cpu()
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
	m.clock = m.clock.release()
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
	if now := m.clock.cpu(); m.startCPU >= 0 && now >= 0 {
		used = now - m.startCPU
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
