package jwks

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/gatepass/gatepass/extauthz/internal/logrecorder"
	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
	"github.com/gatepass/gatepass/shared/verify"
)

func TestSameKey(t *testing.T) {
	parse := func(key *testissuer.Key) verify.Key {
		t.Helper()
		jwk, err := json.Marshal(key.JWK())
		if err != nil {
			t.Fatal(err)
		}
		keys, _, err := ParseKeySet(keySet(t, jwk))
		if err != nil {
			t.Fatal(err)
		}
		return keys[0]
	}
	original := newKey(t, "k1")
	key := parse(original)
	relabelled := key
	relabelled.Algorithm = ""
	renamed := key
	renamed.ID = "k2"

	tests := []struct {
		name  string
		other verify.Key
		want  bool
	}{
		{name: "same key parsed again", other: parse(original), want: true},
		{name: "other material under the kid", other: parse(newKey(t, "k1")), want: false},
		{name: "other algorithm", other: relabelled, want: false},
		{name: "other kid", other: renamed, want: false},
		{name: "zero key", other: verify.Key{}, want: false},
		{name: "same value", other: key, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameKey(key, tt.other); got != tt.want {
				t.Errorf("SameKey = %v, want %v", got, tt.want)
			}
			if got := SameKey(tt.other, key); got != tt.want {
				t.Errorf("SameKey with the arguments swapped = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCacheKeepsUnchangedKeyValues(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	f := newFixture(t, nil, k1)
	before, err := f.cache.Key(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}

	// A changed set makes the issuer respond 200, so the cache parses every
	// key again.
	f.issuer.Publish(k1, k2)
	if _, err := f.cache.refresh(context.Background(), true); err != nil {
		t.Fatalf("refresh failed: %v", err)
	}
	requireKey(t, f.cache, "k2")
	after, err := f.cache.Key(context.Background(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Public != before.Public {
		t.Error("k1 has a new public key value after a refresh that kept it, want the cached one")
	}
}

func TestCacheLogsKeySetChanges(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	tests := []struct {
		name         string
		before       []*testissuer.Key
		after        []*testissuer.Key
		wantChanged  map[string]string
		wantReplaced bool
	}{
		{name: "unchanged", before: []*testissuer.Key{k1}, after: []*testissuer.Key{k1}},
		{name: "key added", before: []*testissuer.Key{k1}, after: []*testissuer.Key{k1, k2},
			wantChanged: map[string]string{"added": "[k2]", "removed": "[]", "replaced": "[]", "keys": "2"}},
		{name: "key removed", before: []*testissuer.Key{k1, k2}, after: []*testissuer.Key{k1},
			wantChanged: map[string]string{"added": "[]", "removed": "[k2]", "replaced": "[]", "keys": "1"}},
		{name: "key replaced", before: []*testissuer.Key{k1}, after: []*testissuer.Key{newKey(t, "k1")},
			wantChanged: map[string]string{"added": "[]", "removed": "[]", "replaced": "[k1]", "keys": "1"}, wantReplaced: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logrecorder.New()
			f := newFixture(t, func(o *Options) { o.Logger = logs.Logger() }, tt.before...)
			requireKey(t, f.cache, "k1")
			if changed := logs.Matching("the JWK Set changed"); len(changed) != 0 {
				t.Errorf("the first fetch logged %+v, want only the fetch itself", changed)
			}
			if fetched := logs.Matching("fetched the JWK Set"); len(fetched) != 1 {
				t.Errorf("logged %d records about the first fetch, want 1", len(fetched))
			}

			f.issuer.Publish(tt.after...)
			if _, err := f.cache.refresh(context.Background(), true); err != nil {
				t.Fatalf("refresh failed: %v", err)
			}

			changed := logs.Matching("the JWK Set changed")
			if tt.wantChanged == nil {
				if len(changed) != 0 {
					t.Errorf("logged %+v for an unchanged set", changed)
				}
				return
			}
			if len(changed) != 1 {
				t.Fatalf("logged %d records about the change, want 1; all records: %+v", len(changed), logs.Entries())
			}
			if changed[0].Level != slog.LevelInfo {
				t.Errorf("level = %v, want INFO", changed[0].Level)
			}
			for name, want := range tt.wantChanged {
				if got := changed[0].Attrs[name]; got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			replaced := logs.Matching("other key material")
			if tt.wantReplaced && (len(replaced) != 1 || replaced[0].Level != slog.LevelWarn) {
				t.Errorf("logged %+v, want one WARN about the replaced kid", replaced)
			}
			if !tt.wantReplaced && len(replaced) != 0 {
				t.Errorf("logged %+v, want no warning about replaced kids", replaced)
			}
		})
	}
}
