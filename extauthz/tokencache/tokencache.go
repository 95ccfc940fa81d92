// Package tokencache keeps the outcome of verifying access tokens, so that a
// token the sidecar has seen costs a hash and a lookup instead of a
// signature check. Entries live in ristretto, keyed by the SHA-256 digest of
// the token, expire with their token, and are bounded by a memory cost in
// bytes. The cache does not look inside the values it holds.
package tokencache

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxCost is the memory bound used when Options.MaxCost is zero.
const DefaultMaxCost = 64 << 20

// typicalEntryCost is an estimate of one entry's cost in bytes, used to size
// ristretto's admission counters.
const typicalEntryCost = 1 << 10

// entryOverhead estimates the bytes an entry takes besides its value.
const entryOverhead = 64

// entry is a cached value with the full digest of its token and its expiry.
type entry[V any] struct {
	digest    [sha256.Size]byte
	expiresAt time.Time
	value     V
}

// Key identifies a token in the cache. It holds the token's SHA-256 digest,
// never the token.
type Key struct {
	digest [sha256.Size]byte
}

// KeyOf returns the cache key of token.
func KeyOf(token string) Key {
	return Key{digest: sha256.Sum256([]byte(token))}
}

// slot is the ristretto key of k. Two digests can share a slot, so an entry
// also stores its full digest and Get compares it.
func (k Key) slot() uint64 {
	return binary.LittleEndian.Uint64(k.digest[:8])
}

// Options configures a Cache.
type Options struct {
	// MaxCost bounds the estimated memory of all entries, in bytes. Zero
	// means DefaultMaxCost.
	MaxCost int64

	// Registerer receives the hit and miss counters. Nil registers nothing.
	Registerer prometheus.Registerer

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Cache maps tokens to values of type V. It is safe for concurrent use.
type Cache[V any] struct {
	entries *ristretto.Cache[uint64, *entry[V]]
	now     func() time.Time
	hits    atomic.Uint64
	misses  atomic.Uint64
}

// New returns an empty Cache.
func New[V any](options Options) (*Cache[V], error) {
	if options.MaxCost < 0 {
		return nil, fmt.Errorf("tokencache: maximum cost %d bytes is negative", options.MaxCost)
	}
	if options.MaxCost == 0 {
		options.MaxCost = DefaultMaxCost
	}
	if options.Now == nil {
		options.Now = time.Now
	}

	entries, err := ristretto.NewCache(&ristretto.Config[uint64, *entry[V]]{
		NumCounters: max(10*options.MaxCost/typicalEntryCost, 1000),
		MaxCost:     options.MaxCost,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("tokencache: creating cache of %d bytes: %w", options.MaxCost, err)
	}

	cache := &Cache[V]{entries: entries, now: options.Now}
	if err := cache.register(options.Registerer); err != nil {
		entries.Close()
		return nil, err
	}
	return cache, nil
}

// Close releases the cache.
func (c *Cache[V]) Close() {
	c.entries.Close()
}

// Get returns the value stored for key, if it has not expired.
func (c *Cache[V]) Get(key Key) (V, bool) {
	cached, found := c.entries.Get(key.slot())
	if !found || cached.digest != key.digest || !c.now().Before(cached.expiresAt) {
		c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.hits.Add(1)
	return cached.value, true
}

// Set stores value for key until expiresAt. cost is the value's estimated
// size in bytes. Storing is asynchronous and ristretto may decline an entry
// to stay within the maximum cost, so a following Get can miss. A value
// that has already expired is not stored.
func (c *Cache[V]) Set(key Key, value V, expiresAt time.Time, cost int64) {
	ttl := expiresAt.Sub(c.now())
	if ttl <= 0 {
		return
	}
	cached := &entry[V]{digest: key.digest, expiresAt: expiresAt, value: value}
	c.entries.SetWithTTL(key.slot(), cached, entryOverhead+cost, ttl)
}

// Wait blocks until earlier Set calls have been applied. Tests use it.
func (c *Cache[V]) Wait() {
	c.entries.Wait()
}

// register adds the lookup counters and the hit ratio to registerer.
func (c *Cache[V]) register(registerer prometheus.Registerer) error {
	if registerer == nil {
		return nil
	}
	const name = "gatepass_extauthz_token_cache_lookups_total"
	const help = "Verified-token cache lookups by result: hit or miss."
	collectors := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"result": "hit"}},
			func() float64 { return float64(c.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"result": "miss"}},
			func() float64 { return float64(c.misses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatepass_extauthz_token_cache_hit_ratio",
			Help: "Share of verified-token cache lookups that hit since the sidecar started, from 0 to 1.",
		}, c.hitRatio),
	}
	var errs []error
	for _, collector := range collectors {
		if err := registerer.Register(collector); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tokencache: registering metrics: %w", err)
	}
	return nil
}

func (c *Cache[V]) hitRatio() float64 {
	hits, misses := c.hits.Load(), c.misses.Load()
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}
