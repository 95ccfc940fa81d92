// Package fakeclock provides a clock for the sidecar's tests that moves only
// when the test advances it.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a manually advanced clock. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock set to the current time.
func New() *Clock {
	return &Clock{now: time.Now()}
}

// Now returns the clock's time. Pass it where code takes a func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
