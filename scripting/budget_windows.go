package scripting

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// getThreadTimes is kernel32's GetThreadTimes, which golang.org/x/sys/windows does
// not wrap; a plain system call, no cgo.
var getThreadTimes = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetThreadTimes")

// threadClock is a handle of one OS thread that can read its times, or 0.
type threadClock windows.Handle

// currentThreadClock opens the calling OS thread, so that the meter's timer, which
// runs on another thread, can read its times (GetCurrentThread's pseudo-handle would
// name the reading thread instead).
func currentThreadClock() threadClock {
	h, err := windows.OpenThread(windows.THREAD_QUERY_LIMITED_INFORMATION, false, windows.GetCurrentThreadId())
	if err != nil {
		return 0
	}
	return threadClock(h)
}

// cpu reads the thread's user and kernel time; -1 when it cannot.
func (c threadClock) cpu() time.Duration {
	if c == 0 || getThreadTimes.Find() != nil {
		return -1
	}
	var creation, exit, kernel, user windows.Filetime
	ok, _, _ := getThreadTimes.Call(uintptr(c),
		uintptr(unsafe.Pointer(&creation)), uintptr(unsafe.Pointer(&exit)),
		uintptr(unsafe.Pointer(&kernel)), uintptr(unsafe.Pointer(&user)))
	if ok == 0 {
		return -1
	}
	return ticks(kernel) + ticks(user)
}

// ticks converts a FILETIME that holds a duration (100 ns units) to a Duration.
func ticks(ft windows.Filetime) time.Duration {
	return time.Duration(int64(ft.HighDateTime)<<32|int64(ft.LowDateTime)) * 100
}

// release closes the thread's handle and returns no clock, so that a second release
// closes nothing.
func (c threadClock) release() threadClock {
	if c != 0 {
		_ = windows.CloseHandle(windows.Handle(c))
	}
	return 0
}
