package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatepass/gatepass/extauthz/internal/logrecorder"
	"github.com/gatepass/gatepass/shared/verify"
)

func TestCacheLogsFetchFailures(t *testing.T) {
	tests := []struct {
		name string
		// fetchFirst fetches the keys once before the issuer goes down.
		fetchFirst bool
		// downFor is how long the issuer has been down at the failed fetch.
		downFor     time.Duration
		wantMessage string
		notMessage  string
	}{
		{name: "never fetched", wantMessage: "no keys are cached: checks are denied", notMessage: "serving the cached keys"},
		{name: "within staleness", fetchFirst: true, downFor: 30 * time.Minute, wantMessage: "serving the cached keys", notMessage: "denied"},
		{name: "past staleness", fetchFirst: true, downFor: 61 * time.Minute, wantMessage: "past the maximum staleness: checks are denied with 503", notMessage: "serving the cached keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logrecorder.New()
			f := newFixture(t, func(o *Options) { o.Logger = logs.Logger() }, newKey(t, "k1"))
			if tt.fetchFirst {
				requireKey(t, f.cache, "k1")
			}

			f.issuer.SetDown(true)
			f.clock.Advance(tt.downFor)
			if _, err := f.cache.refresh(context.Background(), true); err == nil {
				t.Fatal("refresh succeeded while the issuer is down")
			}

			found := logs.Matching(tt.wantMessage)
			if len(found) != 1 {
				t.Fatalf("logged %d records mentioning %q, want 1; all records: %+v", len(found), tt.wantMessage, logs.Entries())
			}
			if found[0].Level != slog.LevelWarn {
				t.Errorf("level = %v, want WARN", found[0].Level)
			}
			if misleading := logs.Matching(tt.notMessage); len(misleading) != 0 {
				t.Errorf("logged %+v, which must not mention %q here", misleading, tt.notMessage)
			}
		})
	}
}

func TestCacheLogsSkippedKeys(t *testing.T) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := newKey(t, "good")
	tests := []struct {
		name       string
		jwk        jose.JSONWebKey
		wantReason string
	}{
		{name: "private key", jwk: jose.JSONWebKey{Key: private, KeyID: "leaked", Algorithm: "ES256", Use: "sig"}, wantReason: `private key member "d"`},
		{name: "algorithm of another key type", jwk: jose.JSONWebKey{Key: private.Public(), KeyID: "mislabelled", Algorithm: "RS256", Use: "sig"}, wantReason: "the key is an EC key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logrecorder.New()
			f := newFixture(t, func(o *Options) { o.Logger = logs.Logger() })
			f.issuer.PublishJWKs(tt.jwk, good.JWK())

			requireKey(t, f.cache, "good")
			requireKeyError(t, f.cache, tt.jwk.KeyID, verify.ErrKeyNotFound)

			found := logs.Matching("skipping a key")
			if len(found) != 1 {
				t.Fatalf("logged %d records about skipped keys, want 1; all records: %+v", len(found), logs.Entries())
			}
			if found[0].Level != slog.LevelWarn {
				t.Errorf("level = %v, want WARN", found[0].Level)
			}
			if got := found[0].Attrs["kid"]; got != tt.jwk.KeyID {
				t.Errorf("kid = %q, want %q", got, tt.jwk.KeyID)
			}
			if got := found[0].Attrs["reason"]; !strings.Contains(got, tt.wantReason) {
				t.Errorf("reason %q does not mention %q", got, tt.wantReason)
			}
		})
	}
}
