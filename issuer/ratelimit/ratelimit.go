// Package ratelimit slows down and then blocks repeated failed
// authentication, per key (a client id or a remote address).
//
// Each key has a leaky bucket of failures that drains at one failure per
// Config.Drain. Failures beyond Config.SlowAfter are delayed by an amount
// that grows with the bucket level. A full bucket blocks the key until it
// drains below Config.Burst again. Successful attempts cost nothing, so a
// well-behaved client is never slowed.
package ratelimit

import (
	"sync"
	"time"
)

// Config sets the limits of a Limiter.
type Config struct {
	// Burst is the number of failures after which a key is blocked.
	Burst int

	// Drain is the time it takes the bucket to forget one failure.
	Drain time.Duration

	// SlowAfter is the number of failures after which each further
	// failure is delayed by Step times the excess, up to MaxDelay.
	SlowAfter int
	Step      time.Duration
	MaxDelay  time.Duration

	// MaxKeys bounds memory: past it, drained keys are dropped first, then
	// arbitrary ones.
	MaxKeys int

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig allows 10 failures in a burst, drains one every 6 seconds
// (10 a minute), and delays failures from the fourth on.
func DefaultConfig() Config {
	return Config{Burst: 10, Drain: 6 * time.Second, SlowAfter: 3, Step: 100 * time.Millisecond, MaxDelay: time.Second, MaxKeys: 100_000}
}

// Limiter tracks failures per key. It is safe for concurrent use.
type Limiter struct {
	config  Config
	mu      sync.Mutex
	buckets map[string]bucket
}

// bucket is the failure level of one key at a point in time.
type bucket struct {
	level   float64
	updated time.Time
}

// New returns a Limiter with config.
func New(config Config) *Limiter {
	if config.Now == nil {
		config.Now = time.Now
	}
	return &Limiter{config: config, buckets: make(map[string]bucket)}
}

// RetryAfter returns how long key must wait before its next attempt is
// considered; zero means it may try now.
func (l *Limiter) RetryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()

	level := l.levelAt(key, l.config.Now())
	excess := level - float64(l.config.Burst) + 1
	if excess <= 0 {
		return 0
	}
	return time.Duration(excess * float64(l.config.Drain))
}

// Fail records a failure of key and returns how long to delay the response.
func (l *Limiter) Fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()

	now := l.config.Now()
	level := l.levelAt(key, now) + 1
	if _, tracked := l.buckets[key]; !tracked && len(l.buckets) >= l.config.MaxKeys {
		l.evict(now)
	}
	l.buckets[key] = bucket{level: level, updated: now}

	excess := level - float64(l.config.SlowAfter)
	if excess <= 0 {
		return 0
	}
	return min(time.Duration(excess)*l.config.Step, l.config.MaxDelay)
}

// levelAt returns the drained level of key at now.
func (l *Limiter) levelAt(key string, now time.Time) float64 {
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	drained := float64(now.Sub(b.updated)) / float64(l.config.Drain)
	return max(0, b.level-drained)
}

// evict makes room for one key: first every fully drained key goes, and if
// none has drained, an arbitrary one.
func (l *Limiter) evict(now time.Time) {
	for key := range l.buckets {
		if l.levelAt(key, now) == 0 {
			delete(l.buckets, key)
		}
	}
	if len(l.buckets) < l.config.MaxKeys {
		return
	}
	for key := range l.buckets {
		delete(l.buckets, key)
		return
	}
}
