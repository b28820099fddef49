package audit

import (
	"context"
	"sync"
)

// Memory is a Recorder that keeps events in memory, for tests of the
// front ends. The zero value is ready to use; it is safe for concurrent use.
// Setting Fail makes Record return ErrUnavailable (to test fail-closed paths).
type Memory struct {
	mu     sync.Mutex
	events []Event
	fail   bool
}

// Record keeps e, or fails when SetFail(true) was called.
func (m *Memory) Record(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return ErrUnavailable
	}
	m.events = append(m.events, e)
	return nil
}

// SetFail makes later Record calls fail (true) or succeed (false).
func (m *Memory) SetFail(fail bool) {
	m.mu.Lock()
	m.fail = fail
	m.mu.Unlock()
}

// Events returns a copy of the events recorded so far.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Reset forgets the recorded events.
func (m *Memory) Reset() {
	m.mu.Lock()
	m.events = nil
	m.mu.Unlock()
}
