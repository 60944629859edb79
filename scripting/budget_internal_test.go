package scripting

import (
	"runtime"
	"testing"
	"time"
)

// TestThreadClock checks that the meter reads the CPU time of the script's thread
// where flowd can (Linux, Windows) and falls back to wall time elsewhere.
func TestThreadClock(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := currentThreadClock()
	defer c.release()
	start := c.cpu()
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		if start != -1 {
			t.Fatalf("cpu() = %v on %s, want -1 (wall time counts)", start, runtime.GOOS)
		}
		return
	}
	if start < 0 {
		t.Fatalf("cpu() = %v: the thread's CPU time cannot be read on %s", start, runtime.GOOS)
	}
	// Compute until the thread's clock has advanced (Windows counts in scheduler
	// ticks of about 16 ms); the deadline only keeps a broken clock from hanging.
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for c.cpu()-start < 20*time.Millisecond {
		for i := range 100000 {
			x += i
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thread computed for 10 s but its clock moved %v (%d)", c.cpu()-start, x)
		}
	}
	if c = c.release(); c.cpu() != -1 {
		t.Errorf("a released clock reads %v, want -1", c.cpu())
	}
}
