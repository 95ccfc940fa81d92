// Package jwks keeps the issuer's signature verification keys for the
// ext_authz sidecar. A Cache fetches the JWK Set, found through OpenID
// Connect discovery or given as a URL, and keeps its keys in ristretto. It
// refreshes them in the background as the response's Cache-Control allows,
// and refetches at most once per interval when a token names an unknown kid.
// While the issuer is unreachable it goes on serving the last good keys, up
// to a maximum staleness. Cache implements verify.KeySource.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/gatepass/gatepass/shared/verify"
)

// Defaults for the zero fields of Options.
const (
	DefaultRefreshInterval = 5 * time.Minute
	DefaultRefetchInterval = 10 * time.Second
	DefaultMaxStaleness    = time.Hour
	DefaultMaxKeys         = 100
	DefaultFetchTimeout    = 10 * time.Second
)

// firstRetryDelay is the wait before the first retry of a failed fetch. Each
// further retry waits twice as long, up to the refetch interval.
const firstRetryDelay = time.Second

// Options configures a Cache.
type Options struct {
	// IssuerURL is the issuer identifier. When JWKSURL is empty the JWK Set
	// URL is read from IssuerURL's OpenID Connect discovery document, whose
	// issuer must equal IssuerURL.
	IssuerURL string

	// JWKSURL is the JWK Set URL. It overrides discovery.
	JWKSURL string

	// RefreshInterval is how often the keys are refreshed in the background
	// when the issuer sends no Cache-Control max-age, and the upper bound on
	// a max-age it does send. Zero means DefaultRefreshInterval.
	RefreshInterval time.Duration

	// RefetchInterval is the shortest time between two fetches caused by a
	// token with an unknown kid. It is also the lower bound on max-age and
	// the longest wait between retries while the issuer is unreachable. Zero
	// means DefaultRefetchInterval.
	RefetchInterval time.Duration

	// MaxStaleness is how long the last good keys keep serving after the
	// last successful fetch. Past it, Key fails with
	// verify.ErrKeysUnavailable. Zero means DefaultMaxStaleness.
	MaxStaleness time.Duration

	// MaxKeys bounds the number of keys kept. A JWK Set with more usable
	// keys is rejected. Zero means DefaultMaxKeys.
	MaxKeys int

	// FetchTimeout bounds one discovery and JWK Set fetch. Zero means
	// DefaultFetchTimeout.
	FetchTimeout time.Duration

	// HTTPClient fetches the documents. Nil means a client without its own
	// timeout, since FetchTimeout applies.
	HTTPClient *http.Client

	// Registerer receives the cache's metrics. Nil registers nothing.
	Registerer prometheus.Registerer

	// Logger receives fetch failures and recoveries. Nil means slog.Default.
	Logger *slog.Logger

	// Now returns the current time; nil means time.Now. Staleness and the
	// refetch limit are measured with it.
	Now func() time.Time
}

// Cache is a verify.KeySource over the issuer's JWK Set. Call Run to keep it
// refreshed. It is safe for concurrent use.
type Cache struct {
	options Options
	client  *http.Client
	logger  *slog.Logger
	now     func() time.Time
	metrics *metrics

	keys  *ristretto.Cache[string, verify.Key]
	group singleflight.Group
	state atomic.Pointer[state]

	// mu guards the fields below. Only a fetch takes it, and singleflight
	// already runs one fetch at a time, so it is never contended.
	mu      sync.Mutex
	jwksURL string
	etag    string

	// published holds the keys of the last stored JWK Set by kid.
	published map[string]verify.Key
}

// state is an immutable snapshot of what the last fetches achieved.
type state struct {
	// refreshedAt is when the issuer last confirmed the keys, zero before
	// the first successful fetch.
	refreshedAt time.Time

	// attemptedAt is when the last fetch started, zero before the first.
	attemptedAt time.Time

	// err is the error of the last fetch, nil if it succeeded.
	err error

	// keyCount is the number of keys held.
	keyCount int
}

// Status describes the keys a Cache holds.
type Status struct {
	// Ready is true when keys were fetched within the maximum staleness.
	Ready bool

	// Keys is the number of keys held.
	Keys int

	// RefreshedAt is when the issuer last confirmed the keys, zero if it
	// never has.
	RefreshedAt time.Time

	// LastError is the error of the last fetch, nil if it succeeded.
	LastError error
}

// errRateLimited marks a fetch skipped because the last one was too recent.
var errRateLimited = errors.New("skipped: the previous fetch was less than the refetch interval ago")

// New returns a Cache for options. It fetches nothing: the first Key call
// or Run does.
func New(options Options) (*Cache, error) {
	if options.JWKSURL == "" && options.IssuerURL == "" {
		return nil, errors.New("jwks: set an issuer URL for discovery or a JWK Set URL")
	}
	if options.JWKSURL != "" {
		if err := validateHTTPURL(options.JWKSURL); err != nil {
			return nil, fmt.Errorf("jwks: JWK Set URL: %w", err)
		}
	} else if err := validateHTTPURL(options.IssuerURL); err != nil {
		return nil, fmt.Errorf("jwks: issuer URL: %w", err)
	}
	setDefaults(&options)
	if options.RefetchInterval > options.RefreshInterval {
		return nil, fmt.Errorf("jwks: refetch interval %s is longer than refresh interval %s", options.RefetchInterval, options.RefreshInterval)
	}
	if options.MaxStaleness <= options.RefetchInterval {
		return nil, fmt.Errorf("jwks: maximum staleness %s must be longer than the refetch interval %s", options.MaxStaleness, options.RefetchInterval)
	}

	keys, err := ristretto.NewCache(&ristretto.Config[string, verify.Key]{
		NumCounters:        int64(options.MaxKeys) * 10,
		MaxCost:            int64(options.MaxKeys),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("jwks: creating key cache: %w", err)
	}

	cache := &Cache{
		options:   options,
		client:    options.HTTPClient,
		logger:    options.Logger,
		now:       options.Now,
		keys:      keys,
		jwksURL:   options.JWKSURL,
		published: map[string]verify.Key{},
	}
	cache.state.Store(&state{})
	cache.metrics, err = newMetrics(options.Registerer, cache)
	if err != nil {
		keys.Close()
		return nil, err
	}
	if options.JWKSURL != "" {
		cache.warnIfPlainHTTP(options.JWKSURL)
	}
	return cache, nil
}

func setDefaults(options *Options) {
	if options.RefreshInterval <= 0 {
		options.RefreshInterval = DefaultRefreshInterval
	}
	if options.RefetchInterval <= 0 {
		options.RefetchInterval = DefaultRefetchInterval
	}
	if options.MaxStaleness <= 0 {
		options.MaxStaleness = DefaultMaxStaleness
	}
	if options.MaxKeys <= 0 {
		options.MaxKeys = DefaultMaxKeys
	}
	if options.FetchTimeout <= 0 {
		options.FetchTimeout = DefaultFetchTimeout
	}
	if options.HTTPClient == nil {
		options.HTTPClient = &http.Client{}
	}
	if options.Logger == nil {
		options.Logger = slog.Default()
	}
	if options.Now == nil {
		options.Now = time.Now
	}
}

// Close releases the key cache. Call it after Run has returned.
func (c *Cache) Close() {
	c.keys.Close()
}

// Status reports the keys held and the outcome of the last fetch.
func (c *Cache) Status() Status {
	current := c.state.Load()
	return Status{
		Ready:       c.usable(current, c.now()),
		Keys:        current.keyCount,
		RefreshedAt: current.refreshedAt,
		LastError:   current.err,
	}
}

// Key returns the key with id kid. On a miss it refetches the JWK Set,
// unless a fetch started less than the refetch interval ago, and concurrent
// misses wait for the same fetch. It returns an error wrapping
// verify.ErrKeyNotFound when the issuer does not publish kid, and one
// wrapping verify.ErrKeysUnavailable when no keys were fetched within the
// maximum staleness, or kid is unknown and the last fetch failed.
func (c *Cache) Key(ctx context.Context, kid string) (verify.Key, error) {
	if c.usable(c.state.Load(), c.now()) {
		if key, found := c.keys.Get(kid); found {
			return key, nil
		}
	}

	if _, err := c.refresh(ctx, false); err != nil && ctx.Err() != nil {
		return verify.Key{}, fmt.Errorf("%w: gave up waiting for the JWK Set: %w", verify.ErrKeysUnavailable, ctx.Err())
	}

	current := c.state.Load()
	if !c.usable(current, c.now()) {
		return verify.Key{}, c.unavailableError(current)
	}
	if key, found := c.keys.Get(kid); found {
		return key, nil
	}
	if current.err != nil {
		return verify.Key{}, fmt.Errorf("%w: key %q is not among the cached keys and the last JWK Set fetch failed: %w", verify.ErrKeysUnavailable, kid, current.err)
	}
	return verify.Key{}, fmt.Errorf("%w: the issuer's JWK Set has no key %q", verify.ErrKeyNotFound, kid)
}

// usable reports whether the keys of s may still be used at now.
func (c *Cache) usable(s *state, now time.Time) bool {
	return !s.refreshedAt.IsZero() && now.Sub(s.refreshedAt) <= c.options.MaxStaleness
}

func (c *Cache) unavailableError(s *state) error {
	if s.refreshedAt.IsZero() {
		if s.err == nil {
			return fmt.Errorf("%w: the JWK Set has not been fetched yet", verify.ErrKeysUnavailable)
		}
		return fmt.Errorf("%w: the JWK Set could not be fetched yet: %w", verify.ErrKeysUnavailable, s.err)
	}
	stale := fmt.Errorf("%w: the keys were last refreshed at %s, more than the maximum staleness of %s ago",
		verify.ErrKeysUnavailable, s.refreshedAt.UTC().Format(time.RFC3339), c.options.MaxStaleness)
	if s.err == nil {
		return stale
	}
	return fmt.Errorf("%w: %w", stale, s.err)
}

// Run fetches the JWK Set at once and then keeps it fresh until ctx ends.
// After a success it waits for the response's max-age, clamped to the
// refetch and refresh intervals. After a failure it retries with an
// exponential backoff of at most the refetch interval.
func (c *Cache) Run(ctx context.Context) {
	retryDelay := min(firstRetryDelay, c.options.RefetchInterval)
	timer := time.NewTimer(0)
	defer timer.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}

		delay, err := c.refresh(ctx, true)
		if errors.Is(err, errRateLimited) {
			// This refresh joined a miss's fetch that was skipped.
			delay, err = c.options.RefetchInterval, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			delay = retryDelay
			retryDelay = min(2*retryDelay, c.options.RefetchInterval)
		} else {
			retryDelay = min(firstRetryDelay, c.options.RefetchInterval)
		}
		timer.Reset(jitter(delay))
	}
}

// jitter spreads delay by up to 10% either way, so that sidecars started
// together do not fetch together.
func jitter(delay time.Duration) time.Duration {
	spread := int64(delay / 10)
	if spread <= 0 {
		return delay
	}
	return delay - time.Duration(spread) + time.Duration(rand.Int64N(2*spread))
}

// refresh fetches the JWK Set, sharing the fetch with concurrent callers.
// Unless force is set, it skips the fetch when the last one started less
// than the refetch interval ago. It returns how long the fetched keys stay
// fresh.
func (c *Cache) refresh(ctx context.Context, force bool) (time.Duration, error) {
	results := c.group.DoChan("jwks", func() (any, error) {
		if !force {
			last := c.state.Load().attemptedAt
			if !last.IsZero() && c.now().Sub(last) < c.options.RefetchInterval {
				return time.Duration(0), errRateLimited
			}
		}
		// The fetch outlives a caller that gives up, because other callers
		// may be waiting for it.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.options.FetchTimeout)
		defer cancel()
		return c.fetch(fetchCtx)
	})

	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case result := <-results:
		delay, _ := result.Val.(time.Duration)
		return delay, result.Err
	}
}

// fetch downloads the JWK Set, stores its keys and records the outcome.
func (c *Cache) fetch(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	attemptedAt := c.now()
	delay, outcome, err := c.download(ctx)
	previous := c.state.Load()
	next := &state{
		refreshedAt: previous.refreshedAt,
		attemptedAt: attemptedAt,
		err:         err,
		keyCount:    len(c.published),
	}
	if err == nil {
		next.refreshedAt = attemptedAt
	}
	c.state.Store(next)
	c.metrics.observeFetch(outcome)
	c.logOutcome(previous, next)
	return delay, err
}

// Outcomes of a fetch, as the result label of the refresh metric.
const (
	outcomeUpdated     = "updated"
	outcomeNotModified = "not_modified"
	outcomeFailed      = "failed"
)

// download resolves the JWK Set URL if needed, fetches the set with the
// ETag of the last one and stores new keys. It must be called with mu held.
func (c *Cache) download(ctx context.Context) (time.Duration, string, error) {
	if c.jwksURL == "" {
		location, err := discoverJWKSURL(ctx, c.client, c.options.IssuerURL)
		if err != nil {
			return 0, outcomeFailed, err
		}
		c.jwksURL = location
		c.warnIfPlainHTTP(location)
		c.logger.Info("found the JWK Set URL through discovery", "issuer", c.options.IssuerURL, "jwks_uri", location)
	}

	request, err := http.NewRequestWithContext(ctx, http.MethodGet, c.jwksURL, nil)
	if err != nil {
		return 0, outcomeFailed, fmt.Errorf("building JWK Set request for %s: %w", c.jwksURL, err)
	}
	request.Header.Set("Accept", "application/jwk-set+json, application/json")
	if c.etag != "" && len(c.published) > 0 {
		request.Header.Set("If-None-Match", c.etag)
	}

	response, err := c.client.Do(request)
	if err != nil {
		return 0, outcomeFailed, fmt.Errorf("fetching JWK Set: %w", err)
	}
	defer response.Body.Close()

	delay := refreshDelay(response.Header, c.options.RefetchInterval, c.options.RefreshInterval)
	switch response.StatusCode {
	case http.StatusNotModified:
		if len(c.published) == 0 {
			return 0, outcomeFailed, fmt.Errorf("fetching JWK Set %s: status 304 Not Modified although no keys are cached", c.jwksURL)
		}
		return delay, outcomeNotModified, nil
	case http.StatusOK:
	default:
		return 0, outcomeFailed, fmt.Errorf("fetching JWK Set %s: status %s", c.jwksURL, response.Status)
	}

	body, err := io.ReadAll(io.LimitReader(response.Body, maxDocumentBytes+1))
	if err != nil {
		return 0, outcomeFailed, fmt.Errorf("reading JWK Set %s: %w", c.jwksURL, err)
	}
	if len(body) > maxDocumentBytes {
		return 0, outcomeFailed, fmt.Errorf("JWK Set %s is larger than %d bytes", c.jwksURL, maxDocumentBytes)
	}

	keys, skipped, err := ParseKeySet(body)
	for _, skip := range skipped {
		c.logger.Warn("skipping a key of the JWK Set", "jwks_uri", c.jwksURL, "index", skip.Index, "kid", skip.KeyID, "reason", skip.Reason)
	}
	if err != nil {
		return 0, outcomeFailed, fmt.Errorf("JWK Set %s: %w", c.jwksURL, err)
	}
	before := c.published
	if err := c.store(keys); err != nil {
		return 0, outcomeFailed, fmt.Errorf("JWK Set %s: %w", c.jwksURL, err)
	}
	c.etag = response.Header.Get("ETag")
	if len(before) > 0 {
		// The first fetch is logged with its outcome in logOutcome.
		c.logKeySetChange(diffKeys(before, c.published), len(c.published))
	}
	return delay, outcomeUpdated, nil
}

// store replaces the cached keys with keys. It must be called with mu held.
func (c *Cache) store(keys []verify.Key) error {
	if len(keys) > c.options.MaxKeys {
		return fmt.Errorf("the set contains %d usable keys, more than the maximum of %d: raise --key-cache-size", len(keys), c.options.MaxKeys)
	}

	current := make(map[string]verify.Key, len(keys))
	for i, key := range keys {
		if previous, found := c.published[key.ID]; found && SameKey(previous, key) {
			// Keep the value that cached tokens were verified with, so that
			// SameKey finds equal pointers and need not compare key material.
			keys[i] = previous
		}
		current[key.ID] = keys[i]
	}
	// Delete keys the issuer no longer publishes first, so the new ones
	// never compete with them for room.
	for kid := range c.published {
		if _, found := current[kid]; !found {
			c.keys.Del(kid)
		}
	}

	for _, key := range keys {
		// Set drops the item when ristretto's write buffer is full. Waiting
		// drains the buffer, so a second attempt finds room.
		if !c.keys.Set(key.ID, key, 1) {
			c.keys.Wait()
			if !c.keys.Set(key.ID, key, 1) {
				return fmt.Errorf("the key cache dropped key %q", key.ID)
			}
		}
	}
	c.keys.Wait()

	for _, key := range keys {
		if _, found := c.keys.Get(key.ID); !found {
			return fmt.Errorf("the key cache did not admit key %q", key.ID)
		}
	}
	c.published = current
	return nil
}

func (c *Cache) logOutcome(previous, next *state) {
	switch {
	case next.err != nil && next.refreshedAt.IsZero():
		c.logger.Warn("fetching the JWK Set failed and no keys are cached: checks are denied until a fetch succeeds",
			"source", c.source(), "error", next.err)
	case next.err != nil && !c.usable(next, c.now()):
		c.logger.Warn("fetching the JWK Set failed and the cached keys are past the maximum staleness: checks are denied with 503 until a fetch succeeds",
			"source", c.source(), "refreshed_at", next.refreshedAt, "max_staleness", c.options.MaxStaleness, "error", next.err)
	case next.err != nil:
		c.logger.Warn("fetching the JWK Set failed, serving the cached keys until they pass the maximum staleness",
			"source", c.source(), "refreshed_at", next.refreshedAt, "stale_at", next.refreshedAt.Add(c.options.MaxStaleness),
			"max_staleness", c.options.MaxStaleness, "error", next.err)
	case previous.err != nil || previous.refreshedAt.IsZero():
		c.logger.Info("fetched the JWK Set", "jwks_uri", c.jwksURL, "keys", next.keyCount, "kids", slices.Sorted(maps.Keys(c.published)))
	}
}

// source names where keys come from in logs: the JWK Set URL, or the
// issuer while discovery has not found that URL yet.
func (c *Cache) source() string {
	if c.jwksURL != "" {
		return c.jwksURL
	}
	return "discovery at " + c.options.IssuerURL
}

// warnIfPlainHTTP logs a warning when keys would travel over plain HTTP to
// a host other than loopback, where anyone on the path could swap them.
func (c *Cache) warnIfPlainHTTP(location string) {
	parsed, err := url.Parse(location)
	if err != nil || parsed.Scheme != "http" {
		return
	}
	host := parsed.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return
	}
	c.logger.Warn("the JWK Set is fetched over plain HTTP, so anyone on the network path can replace the keys: use https outside a private network",
		"jwks_uri", location)
}
