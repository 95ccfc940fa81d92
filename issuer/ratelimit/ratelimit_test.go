package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newTestLimiter(clock *fakeClock) *Limiter {
	config := DefaultConfig()
	config.Now = clock.Now
	config.MaxKeys = 4
	return New(config)
}

func TestFailuresAreSlowedThenBlocked(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	limiter := newTestLimiter(clock)

	wantDelays := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i, want := range wantDelays {
		if got := limiter.Fail("client:a"); got != want {
			t.Errorf("failure %d: delay = %v, want %v", i+1, got, want)
		}
	}
	for i := len(wantDelays); i < 9; i++ {
		limiter.Fail("client:a")
	}
	if got := limiter.RetryAfter("client:a"); got != 0 {
		t.Errorf("after 9 failures RetryAfter = %v, want 0", got)
	}

	if got := limiter.Fail("client:a"); got != 700*time.Millisecond {
		t.Errorf("10th failure delay = %v, want 700ms", got)
	}
	if got := limiter.RetryAfter("client:a"); got != 6*time.Second {
		t.Errorf("after 10 failures RetryAfter = %v, want 6s", got)
	}
	if got := limiter.RetryAfter("client:b"); got != 0 {
		t.Errorf("another key is blocked: RetryAfter = %v", got)
	}

	clock.now = clock.now.Add(6 * time.Second)
	if got := limiter.RetryAfter("client:a"); got != 0 {
		t.Errorf("after draining one failure RetryAfter = %v, want 0", got)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	limiter := newTestLimiter(clock)

	for i := range 10 {
		limiter.Fail(fmt.Sprintf("addr:%d", i))
	}
	if got := len(limiter.buckets); got > 4 {
		t.Errorf("limiter tracks %d keys, want at most 4", got)
	}
}
