package jwks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatepass/gatepass/extauthz/internal/fakeclock"
	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
	"github.com/gatepass/gatepass/shared/verify"
)

const refetchInterval = 10 * time.Second

type fixture struct {
	issuer   *testissuer.Server
	cache    *Cache
	clock    *fakeclock.Clock
	registry *prometheus.Registry
}

func newKey(t *testing.T, id string) *testissuer.Key {
	t.Helper()
	key, err := testissuer.NewKey(id, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newFixture starts an issuer publishing keys and a Cache that discovers it.
func newFixture(t *testing.T, edit func(*Options), keys ...*testissuer.Key) *fixture {
	t.Helper()
	issuer := testissuer.NewServer(keys...)
	t.Cleanup(issuer.Close)

	f := &fixture{issuer: issuer, clock: fakeclock.New(), registry: prometheus.NewRegistry()}
	options := Options{
		IssuerURL:       issuer.URL(),
		RefetchInterval: refetchInterval,
		MaxStaleness:    time.Hour,
		Registerer:      f.registry,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:             f.clock.Now,
	}
	if edit != nil {
		edit(&options)
	}
	cache, err := New(options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	f.cache = cache
	return f
}

func (f *fixture) fetches(t *testing.T, result string) float64 {
	t.Helper()
	var metric dto.Metric
	if err := f.cache.metrics.refreshes.WithLabelValues(result).Write(&metric); err != nil {
		t.Fatal(err)
	}
	return metric.GetCounter().GetValue()
}

func requireKey(t *testing.T, cache *Cache, kid string) {
	t.Helper()
	key, err := cache.Key(context.Background(), kid)
	if err != nil {
		t.Fatalf("Key(%q) failed: %v", kid, err)
	}
	if key.ID != kid || key.Public == nil {
		t.Fatalf("Key(%q) = %+v, want that key with a public key", kid, key)
	}
}

func requireKeyError(t *testing.T, cache *Cache, kid string, want error) {
	t.Helper()
	key, err := cache.Key(context.Background(), kid)
	if !errors.Is(err, want) {
		t.Fatalf("Key(%q) = %+v, %v, want an error wrapping %v", kid, key, err, want)
	}
}

func TestCacheDiscoversAndFetches(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"), newKey(t, "k2"))

	requireKey(t, f.cache, "k1")
	requireKey(t, f.cache, "k2")

	if got := f.issuer.JWKSRequests(); got != 1 {
		t.Errorf("issuer saw %d JWK Set requests, want 1", got)
	}
	status := f.cache.Status()
	if !status.Ready || status.Keys != 2 || status.LastError != nil {
		t.Errorf("Status() = %+v, want ready with 2 keys and no error", status)
	}
	if got := f.fetches(t, outcomeUpdated); got != 1 {
		t.Errorf("updated fetches = %v, want 1", got)
	}
}

func TestCacheJWKSURLSkipsDiscovery(t *testing.T) {
	issuer := testissuer.NewServer(newKey(t, "k1"))
	t.Cleanup(issuer.Close)
	cache, err := New(Options{JWKSURL: issuer.JWKSURL(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)

	requireKey(t, cache, "k1")
}

func TestCacheRejectsWrongDiscoveryIssuer(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.IssuerURL += "/other" }, newKey(t, "k1"))

	requireKeyError(t, f.cache, "k1", verify.ErrKeysUnavailable)
	if got := f.issuer.JWKSRequests(); got != 0 {
		t.Errorf("issuer saw %d JWK Set requests, want none after failed discovery", got)
	}
}

func TestCacheUnknownKidRefetchLimit(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"))
	requireKey(t, f.cache, "k1")

	// Within the refetch interval an unknown kid costs no fetch.
	requireKeyError(t, f.cache, "unknown", verify.ErrKeyNotFound)
	if got := f.issuer.JWKSRequests(); got != 1 {
		t.Fatalf("issuer saw %d JWK Set requests, want 1 within the refetch interval", got)
	}

	// After it, one unknown kid causes one fetch.
	f.clock.Advance(refetchInterval)
	requireKeyError(t, f.cache, "unknown", verify.ErrKeyNotFound)
	requireKeyError(t, f.cache, "unknown", verify.ErrKeyNotFound)
	if got := f.issuer.JWKSRequests(); got != 2 {
		t.Fatalf("issuer saw %d JWK Set requests, want 2", got)
	}
}

func TestCacheConcurrentMissesShareFetch(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"))
	requireKey(t, f.cache, "k1")

	f.issuer.Publish(newKey(t, "k1"), newKey(t, "k2"))
	f.clock.Advance(refetchInterval)

	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := f.cache.Key(context.Background(), "k2")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("Key(k2) failed: %v", err)
		}
	}
	if got := f.issuer.JWKSRequests(); got != 2 {
		t.Errorf("issuer saw %d JWK Set requests, want 2: one at start, one shared by %d misses", got, callers)
	}
}

func TestCacheRotation(t *testing.T) {
	old, next := newKey(t, "old"), newKey(t, "new")
	f := newFixture(t, nil, old)
	requireKey(t, f.cache, "old")

	f.issuer.Publish(old, next)
	f.clock.Advance(refetchInterval)
	requireKey(t, f.cache, "new")
	requireKey(t, f.cache, "old")

	// Retiring the old key removes it at the next refresh.
	f.issuer.Publish(next)
	if _, err := f.cache.refresh(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	requireKeyError(t, f.cache, "old", verify.ErrKeyNotFound)
	requireKey(t, f.cache, "new")
	if got := f.cache.Status().Keys; got != 1 {
		t.Errorf("Status().Keys = %d, want 1", got)
	}
}

func TestCacheNotModified(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"))
	requireKey(t, f.cache, "k1")

	if _, err := f.cache.refresh(context.Background(), true); err != nil {
		t.Fatalf("refresh failed: %v", err)
	}
	if got := f.fetches(t, outcomeNotModified); got != 1 {
		t.Errorf("not_modified fetches = %v, want 1", got)
	}
	requireKey(t, f.cache, "k1")
}

func TestCacheIssuerDown(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"))
	requireKey(t, f.cache, "k1")

	f.issuer.SetDown(true)
	f.clock.Advance(30 * time.Minute)
	if _, err := f.cache.refresh(context.Background(), true); err == nil {
		t.Fatal("refresh succeeded while the issuer is down")
	}

	t.Run("cached keys serve", func(t *testing.T) {
		requireKey(t, f.cache, "k1")
	})
	t.Run("unknown kid is unavailable", func(t *testing.T) {
		f.clock.Advance(refetchInterval)
		requireKeyError(t, f.cache, "k2", verify.ErrKeysUnavailable)
	})
	t.Run("stale keys are unavailable", func(t *testing.T) {
		f.clock.Advance(31 * time.Minute)
		requireKeyError(t, f.cache, "k1", verify.ErrKeysUnavailable)
		if f.cache.Status().Ready {
			t.Error("Status().Ready is true past the maximum staleness")
		}
	})
	t.Run("recovery", func(t *testing.T) {
		f.issuer.SetDown(false)
		f.clock.Advance(refetchInterval)
		requireKey(t, f.cache, "k1")
	})
	if got := f.fetches(t, outcomeFailed); got < 2 {
		t.Errorf("failed fetches = %v, want at least 2", got)
	}
}

func TestCacheStartsWhileIssuerDown(t *testing.T) {
	f := newFixture(t, nil, newKey(t, "k1"))
	f.issuer.SetDown(true)

	requireKeyError(t, f.cache, "k1", verify.ErrKeysUnavailable)
	if f.cache.Status().Ready {
		t.Fatal("Status().Ready is true before any key was fetched")
	}

	f.issuer.SetDown(false)
	f.clock.Advance(refetchInterval)
	requireKey(t, f.cache, "k1")
}

func TestCacheTooManyKeys(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxKeys = 2 }, newKey(t, "a"), newKey(t, "b"), newKey(t, "c"))

	requireKeyError(t, f.cache, "a", verify.ErrKeysUnavailable)
	if err := f.cache.Status().LastError; err == nil {
		t.Error("Status().LastError is nil after a JWK Set with too many keys")
	}
}

func TestCacheRunRefreshesInBackground(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Now = nil
		o.JWKSURL = o.IssuerURL + "/jwks"
		o.RefetchInterval = 20 * time.Millisecond
		o.MaxStaleness = time.Minute
	}, newKey(t, "k1"))
	// max-age=0 requests a refresh at every refetch interval.
	f.issuer.SetCacheControl("max-age=0")
	f.issuer.SetDown(true)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.cache.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	waitCtx, cancelWait := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelWait()

	// Run retries while the issuer is down.
	if err := f.issuer.WaitJWKSRequests(waitCtx, 2); err != nil {
		t.Fatal(err)
	}
	f.issuer.SetDown(false)

	// Fetches run one at a time, so when request n+2 arrives the fetch that
	// sent request n+1, made after the issuer came up, has finished.
	if err := f.issuer.WaitJWKSRequests(waitCtx, f.issuer.JWKSRequests()+2); err != nil {
		t.Fatal(err)
	}
	if !f.cache.Status().Ready {
		t.Fatalf("Status() = %+v after the issuer came back, want ready", f.cache.Status())
	}
	requireKey(t, f.cache, "k1")
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		options Options
	}{
		{name: "no URL", options: Options{}},
		{name: "JWKS URL without scheme", options: Options{JWKSURL: "issuer.test/jwks"}},
		{name: "issuer URL with other scheme", options: Options{IssuerURL: "ftp://issuer.test"}},
		{name: "refetch longer than refresh", options: Options{IssuerURL: "https://issuer.test", RefetchInterval: time.Hour, RefreshInterval: time.Minute}},
		{name: "staleness shorter than refetch", options: Options{IssuerURL: "https://issuer.test", RefetchInterval: time.Minute, MaxStaleness: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache, err := New(tt.options)
			if err == nil {
				cache.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}
