//go:build !linux && !windows

package scripting

import "time"

// threadClock reads nothing here: macOS gives a thread's CPU time only through
// thread_info, which needs cgo, and flowd builds without cgo. The meter counts wall
// time instead (see meter).
type threadClock struct{}

func currentThreadClock() threadClock { return threadClock{} }

// cpu returns -1: unknown, wall time counts.
func (threadClock) cpu() time.Duration { return -1 }

func (threadClock) release() threadClock { return threadClock{} }
