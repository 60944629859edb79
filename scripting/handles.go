package scripting

import (
	"runtime"
	"sync"
	"weak"

	"github.com/dop251/goja"
)

// handleSet maps the child handles given to the script (the objects this.connect and
// this.flow return) to their state, without keeping them alive: a flow that makes
// 20,000 connects and drops their handles does not keep 20,000 results in memory.
// An entry goes when the script's object is collected.
type handleSet struct {
	mu sync.Mutex // cleanups run on their own goroutine
	m  map[weak.Pointer[goja.Object]]*childHandle
}

func (s *handleSet) add(o *goja.Object, h *childHandle) {
	wp := weak.Make(o)
	s.mu.Lock()
	if s.m == nil {
		s.m = map[weak.Pointer[goja.Object]]*childHandle{}
	}
	s.m[wp] = h
	s.mu.Unlock()
	runtime.AddCleanup(o, s.remove, wp)
}

func (s *handleSet) remove(wp weak.Pointer[goja.Object]) {
	s.mu.Lock()
	delete(s.m, wp)
	s.mu.Unlock()
}

// get returns the state of a handle object; ok is false for any other object.
func (s *handleSet) get(o *goja.Object) (h *childHandle, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok = s.m[weak.Make(o)]
	return h, ok
}
