package tokencache

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatepass/gatepass/extauthz/internal/fakeclock"
)

func newCache(t *testing.T, options Options) *Cache[string] {
	t.Helper()
	cache, err := New[string](options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	return cache
}

func TestCacheGetSet(t *testing.T) {
	clock := fakeclock.New()
	cache := newCache(t, Options{Now: clock.Now})

	key := KeyOf("token-a")
	cache.Set(key, "svc-a", clock.Now().Add(time.Minute), 10)
	cache.Set(KeyOf("expired"), "svc-b", clock.Now().Add(-time.Second), 10)
	cache.Wait()

	tests := []struct {
		name      string
		key       Key
		wantValue string
	}{
		{name: "stored token hits", key: key, wantValue: "svc-a"},
		{name: "same text hits", key: KeyOf("token-a"), wantValue: "svc-a"},
		{name: "other token misses", key: KeyOf("token-b")},
		{name: "expired entry not stored", key: KeyOf("expired")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, found := cache.Get(tt.key)
			if tt.wantValue == "" {
				if found {
					t.Fatalf("Get found %q, want a miss", value)
				}
				return
			}
			if !found {
				t.Fatal("Get missed, want a hit")
			}
			if value != tt.wantValue {
				t.Errorf("Get = %q, want %q", value, tt.wantValue)
			}
		})
	}

	t.Run("entry expires with its token", func(t *testing.T) {
		clock.Advance(time.Minute)
		if value, found := cache.Get(key); found {
			t.Errorf("Get found %q at its expiry, want a miss", value)
		}
	})
}

func TestCacheSlotCollision(t *testing.T) {
	cache := newCache(t, Options{})
	key := KeyOf("token-a")
	cache.Set(key, "svc-a", time.Now().Add(time.Minute), 10)
	cache.Wait()

	// A key with the same slot but another digest must not see the entry.
	forged := key
	forged.digest[31] ^= 0xff
	if value, found := cache.Get(forged); found {
		t.Errorf("Get with a colliding slot found %q, want a miss", value)
	}
}

func TestCacheBoundedByCost(t *testing.T) {
	const maxCost = 64 << 10
	cache := newCache(t, Options{MaxCost: maxCost})
	expiresAt := time.Now().Add(time.Minute)
	value := strings.Repeat("s", 500)

	for i := range 1000 {
		cache.Set(KeyOf(string(rune(i))+"token"), value, expiresAt, int64(len(value)))
	}
	cache.Wait()

	if used := cache.entries.MaxCost() - cache.entries.RemainingCost(); used > maxCost {
		t.Errorf("cache holds %d bytes, more than its maximum of %d", used, maxCost)
	}
}

func TestCacheMetrics(t *testing.T) {
	registry := prometheus.NewRegistry()
	cache := newCache(t, Options{Registerer: registry})
	cache.Set(KeyOf("a"), "a", time.Now().Add(time.Minute), 1)
	cache.Wait()
	cache.Get(KeyOf("a"))
	cache.Get(KeyOf("a"))
	cache.Get(KeyOf("a"))
	cache.Get(KeyOf("b"))

	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, family := range families {
		for _, metric := range family.GetMetric() {
			name := family.GetName()
			for _, label := range metric.GetLabel() {
				name += "/" + label.GetValue()
			}
			values[name] = metric.GetCounter().GetValue() + metric.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"gatepass_extauthz_token_cache_lookups_total/hit":  3,
		"gatepass_extauthz_token_cache_lookups_total/miss": 1,
		"gatepass_extauthz_token_cache_hit_ratio":          0.75,
	}
	for name, wantValue := range want {
		if got := values[name]; got != wantValue {
			t.Errorf("%s = %v, want %v", name, got, wantValue)
		}
	}
}
