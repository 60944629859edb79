package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reducedProtection is empty: every limit of the sandbox holds on Linux.
const reducedProtection = ""

// limitMemory caps the process's data segment (RLIMIT_DATA: the heap and every private
// writable mapping, which is where the Go runtime puts all it allocates) at what it
// uses now plus limit. Past it an allocation fails and the Go runtime ends the process
// with "out of memory"; nothing inside the process can raise the limit again.
func limitMemory(limit int64) error {
	base, err := dataBytes()
	if err != nil {
		return err
	}
	lim := uint64(base + limit)
	if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: lim, Max: lim}); err != nil {
		return err
	}
	// When the machine itself runs out of memory (many scripts near their limit at
	// once), the kernel ends a sandbox first, never the worker or the API.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
	return nil
}

// dataBytes reads VmData of this process.
func dataBytes() (int64, error) {
	n := procKB("/proc/self/status", "VmData")
	if n < 0 {
		return 0, fmt.Errorf("no VmData in /proc/self/status")
	}
	return n, nil
}

// procKB reads a "Field:   123 kB" line of a /proc file in bytes, or -1.
func procKB(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// childAttr makes a sandbox die with its parent, so that a killed worker leaves none.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuOf returns the CPU time a process has used, or -1 when it cannot be read.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces and parentheses: fields count from
	// the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+s) * clockTick
}

// totalMemory returns the machine's memory in bytes (MemTotal), or 0.
func totalMemory() int64 {
	return max(procKB("/proc/meminfo", "MemTotal"), 0)
}
