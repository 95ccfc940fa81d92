package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatepass/gatepass/issuer/keys/kek"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/verify"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "https://api.test"

	testTokenTTL       = 5 * time.Minute
	testRotationPeriod = 24 * time.Hour
	testPublishAhead   = time.Hour
	testMargin         = 2 * time.Minute
)

var allAlgorithms = []string{ES256, RS256, EdDSA}

// clock is a settable time source shared by the managers of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 8, 21, 9, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func mustKEK(t testing.TB) *kek.Key {
	t.Helper()
	key, err := kek.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func testConfig(t testing.TB, clk *clock, algorithm string) Config {
	return Config{
		Algorithm:        algorithm,
		TokenTTL:         testTokenTTL,
		RotationPeriod:   testRotationPeriod,
		PublishAhead:     testPublishAhead,
		RetirementMargin: testMargin,
		Now:              clk.Now,
		Logger:           slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}

func newTestManager(t testing.TB, st store.Store, encryptionKey *kek.Key, config Config) *Manager {
	t.Helper()
	m, err := NewManager(st, encryptionKey, config)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}

func startManager(t testing.TB, st store.Store, encryptionKey *kek.Key, config Config) *Manager {
	t.Helper()
	m := newTestManager(t, st, encryptionKey, config)
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return m
}

func testClaims(now time.Time) claims.AccessToken {
	return claims.AccessToken{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "svc-a",
			Audience:  jwt.ClaimStrings{testAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(testTokenTTL)),
			ID:        "jti-1",
		},
		ClientID:     "svc-a",
		Scope:        claims.ScopeClaim{"read", "write"},
		CredentialID: "cred-1",
		Permissions:  [][]string{{"analytics.*", "reader"}},
	}
}

// signedKID signs test claims and returns the kid Sign reports.
func signedKID(t *testing.T, m *Manager) string {
	t.Helper()
	_, kid, err := m.Sign(testClaims(m.config.Now()))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return kid
}

// jwksKIDs returns the key ids in the manager's JWKS, in order.
func jwksKIDs(t *testing.T, m *Manager) []string {
	t.Helper()
	body, _ := m.JWKS()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("decoding JWKS %s: %v", body, err)
	}
	kids := []string{}
	for _, key := range set.Keys {
		kids = append(kids, key.KeyID)
	}
	return kids
}

// listStates returns the state of each stored key by id.
func listStates(t *testing.T, m *Manager) map[string]State {
	t.Helper()
	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	states := map[string]State{}
	for _, info := range infos {
		states[info.ID] = info.State
	}
	return states
}

func keyInfo(t *testing.T, m *Manager, kid string) KeyInfo {
	t.Helper()
	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, info := range infos {
		if info.ID == kid {
			return info
		}
	}
	t.Fatalf("List has no key %s", kid)
	return KeyInfo{}
}

func refresh(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func newVerifier(t *testing.T, m *Manager) *verify.Verifier {
	t.Helper()
	verifier, err := verify.New(verify.Config{Issuer: testIssuer, Audience: testAudience, Now: m.config.Now}, m)
	if err != nil {
		t.Fatal(err)
	}
	return verifier
}

func TestStartCreatesOneActiveKey(t *testing.T) {
	for _, algorithm := range allAlgorithms {
		t.Run(algorithm, func(t *testing.T) {
			st := openStore(t)
			clk := newClock()
			encryptionKey := mustKEK(t)
			m := startManager(t, st, encryptionKey, testConfig(t, clk, algorithm))

			infos, err := m.List(context.Background())
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(infos) != 1 {
				t.Fatalf("List returned %d keys after the first start, want 1", len(infos))
			}
			first := infos[0]
			if first.State != StateActive {
				t.Errorf("first key state = %s, want active", first.State)
			}
			if first.Algorithm != algorithm {
				t.Errorf("first key algorithm = %s, want %s", first.Algorithm, algorithm)
			}
			if !first.ActivatesAt.Equal(clk.Now()) {
				t.Errorf("first key activates at %v, want now (%v)", first.ActivatesAt, clk.Now())
			}
			if kid := signedKID(t, m); kid != first.ID {
				t.Errorf("Sign used kid %s, want the first key %s", kid, first.ID)
			}
			if kids := jwksKIDs(t, m); !slices.Equal(kids, []string{first.ID}) {
				t.Errorf("JWKS kids = %v, want [%s]", kids, first.ID)
			}

			events, err := st.ListAudit(context.Background(), store.AuditFilter{Action: actionCreated})
			if err != nil {
				t.Fatalf("ListAudit: %v", err)
			}
			if len(events) != 1 || !strings.Contains(events[0].Detail, first.ID) {
				t.Errorf("audit events for the first key = %+v, want one naming %s", events, first.ID)
			}

			restarted := startManager(t, st, encryptionKey, testConfig(t, clk, algorithm))
			if states := listStates(t, restarted); len(states) != 1 {
				t.Errorf("restart left %d keys, want the 1 created before", len(states))
			}
			if kid := signedKID(t, restarted); kid != first.ID {
				t.Errorf("restarted manager signs with %s, want %s", kid, first.ID)
			}
		})
	}
}

func TestJWKSPublicOnly(t *testing.T) {
	for _, algorithm := range allAlgorithms {
		t.Run(algorithm, func(t *testing.T) {
			clk := newClock()
			m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, algorithm))

			body, etag := m.JWKS()
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatalf("decoding JWKS: %v", err)
			}
			if len(set.Keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
			}
			key := set.Keys[0]
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := key[private]; ok {
					t.Errorf("JWKS key has private parameter %q", private)
				}
			}
			if key["use"] != "sig" {
				t.Errorf("JWKS key use = %v, want sig", key["use"])
			}
			if key["alg"] != algorithm {
				t.Errorf("JWKS key alg = %v, want %s", key["alg"], algorithm)
			}
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
				t.Errorf("ETag %s is not a quoted strong tag", etag)
			}

			refresh(t, m)
			if again, sameTag := m.JWKS(); !bytes.Equal(again, body) || sameTag != etag {
				t.Error("JWKS or ETag changed although the keys did not")
			}
			clk.Advance(time.Minute)
			if err := m.Rotate(context.Background()); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if _, newTag := m.JWKS(); newTag == etag {
				t.Error("ETag did not change when a key was added")
			}
		})
	}
}

func TestSealedPrivateKey(t *testing.T) {
	st := openStore(t)
	clk := newClock()
	encryptionKey := mustKEK(t)
	startManager(t, st, encryptionKey, testConfig(t, clk, ES256))
	clk.Advance(time.Minute)
	if err := newTestManager(t, st, encryptionKey, testConfig(t, clk, ES256)).Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}

	rows, err := st.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("store holds %d keys, want 2", len(rows))
	}
	first, second := rows[0], rows[1]

	pkcs8, err := encryptionKey.Open(first.SealedPrivateKey, sealingData(first.ID))
	if err != nil {
		t.Fatalf("opening the sealed key with its KEK and kid: %v", err)
	}
	if bytes.Contains(first.SealedPrivateKey, pkcs8) {
		t.Error("sealed private key contains the PKCS #8 plaintext")
	}

	if _, err := mustKEK(t).Open(first.SealedPrivateKey, sealingData(first.ID)); !errors.Is(err, kek.ErrOpen) {
		t.Errorf("opening with another KEK: error = %v, want kek.ErrOpen", err)
	}
	if _, err := encryptionKey.Open(first.SealedPrivateKey, sealingData(second.ID)); !errors.Is(err, kek.ErrOpen) {
		t.Errorf("opening with another kid as additional data: error = %v, want kek.ErrOpen", err)
	}

	swapped := second
	swapped.SealedPrivateKey = first.SealedPrivateKey
	public, err := parsePublicKey(swapped)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSigningKey(encryptionKey, swapped, public); !errors.Is(err, kek.ErrOpen) {
		t.Errorf("opening a sealed key moved to another row: error = %v, want kek.ErrOpen", err)
	}

	err = newTestManager(t, st, mustKEK(t), testConfig(t, clk, ES256)).Start(context.Background())
	if !errors.Is(err, kek.ErrOpen) || !strings.Contains(err.Error(), kek.EnvVar) {
		t.Errorf("Start with another KEK: error = %v, want kek.ErrOpen naming %s", err, kek.EnvVar)
	}
}

func TestRotationSchedule(t *testing.T) {
	st := openStore(t)
	clk := newClock()
	start := clk.Now()
	m := startManager(t, st, mustKEK(t), testConfig(t, clk, ES256))
	verifier := newVerifier(t, m)
	old := signedKID(t, m)

	publishAt := start.Add(testRotationPeriod - testPublishAhead)
	clk.Set(publishAt.Add(-time.Second))
	refresh(t, m)
	if kids := jwksKIDs(t, m); len(kids) != 1 {
		t.Fatalf("JWKS has %d keys a second before the next key is due, want 1", len(kids))
	}

	clk.Set(publishAt)
	refresh(t, m)
	kids := jwksKIDs(t, m)
	if len(kids) != 2 {
		t.Fatalf("JWKS has %d keys when the next key is due, want 2", len(kids))
	}
	next := kids[1]
	if kid := signedKID(t, m); kid != old {
		t.Errorf("Sign uses %s while the next key is only published, want %s", kid, old)
	}
	if states := listStates(t, m); states[old] != StateActive || states[next] != StateNext {
		t.Errorf("states = %v, want %s active and %s next", states, old, next)
	}

	activation := start.Add(testRotationPeriod)
	if info := keyInfo(t, m, next); !info.ActivatesAt.Equal(activation) {
		t.Errorf("next key activates at %v, want %v", info.ActivatesAt, activation)
	}

	clk.Set(activation.Add(-time.Microsecond))
	lastToken, kid, err := m.Sign(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if kid != old {
		t.Errorf("Sign uses %s just before the activation, want %s", kid, old)
	}
	clk.Set(activation)
	if kid := signedKID(t, m); kid != next {
		t.Errorf("Sign uses %s at the activation without a refresh, want %s", kid, next)
	}

	refresh(t, m)
	expiry := activation.Add(testTokenTTL + testMargin)
	info := keyInfo(t, m, old)
	if info.State != StateRetired {
		t.Errorf("old key state = %s after the activation, want retired", info.State)
	}
	if info.RetiredAt == nil || !info.RetiredAt.Equal(activation) {
		t.Errorf("old key retired at %v, want %v", info.RetiredAt, activation)
	}
	if info.ExpiresAt == nil || !info.ExpiresAt.Equal(expiry) {
		t.Errorf("old key expires at %v, want %v", info.ExpiresAt, expiry)
	}

	clk.Set(activation.Add(testTokenTTL - time.Second))
	refresh(t, m)
	if _, err := verifier.Verify(context.Background(), lastToken); err != nil {
		t.Errorf("last token of the retired key, verified before its exp: %v", err)
	}

	clk.Set(expiry.Add(-time.Second))
	refresh(t, m)
	if kids := jwksKIDs(t, m); !slices.Contains(kids, old) {
		t.Errorf("JWKS %v lacks the retired key before its expiry", kids)
	}
	if _, err := m.Key(context.Background(), old); err != nil {
		t.Errorf("Key(%s) before its expiry: %v", old, err)
	}

	clk.Set(expiry)
	if _, err := m.Key(context.Background(), old); !errors.Is(err, verify.ErrKeyNotFound) {
		t.Errorf("Key(%s) at its expiry: error = %v, want ErrKeyNotFound", old, err)
	}
	refresh(t, m)
	if kids := jwksKIDs(t, m); !slices.Equal(kids, []string{next}) {
		t.Errorf("JWKS kids after the old key expired = %v, want [%s]", kids, next)
	}

	clk.Set(expiry.Add(time.Microsecond))
	refresh(t, m)
	if states := listStates(t, m); len(states) != 1 {
		t.Errorf("store holds %v after the old key expired, want only %s", states, next)
	}
}

func TestRetiredKeyStillVerifies(t *testing.T) {
	clk := newClock()
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, ES256))
	verifier := newVerifier(t, m)

	issuedAt := clk.Now()
	token, oldKID, err := m.Sign(testClaims(issuedAt))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if kid := signedKID(t, m); kid == oldKID {
		t.Fatalf("Sign still uses %s after Rotate", kid)
	}

	clk.Set(issuedAt.Add(testTokenTTL - time.Second))
	if _, err := verifier.Verify(context.Background(), token); err != nil {
		t.Errorf("token of the rotated-out key before its exp: %v", err)
	}
}

// nextKeyCases runs a test with and without a published next key.
var nextKeyCases = []struct {
	name        string
	publishNext bool
}{
	{name: "with published next key", publishNext: true},
	{name: "without next key", publishNext: false},
}

// fixture is a started manager over a new store, with the ids of its
// active key and, if published, its next key.
type fixture struct {
	st     store.Store
	clk    *clock
	m      *Manager
	active string
	next   string
}

// newFixture starts a manager and, if publishNext is set, advances the
// clock until the next key is published.
func newFixture(t *testing.T, publishNext bool) fixture {
	t.Helper()
	f := fixture{st: openStore(t), clk: newClock()}
	f.m = startManager(t, f.st, mustKEK(t), testConfig(t, f.clk, ES256))
	f.active = signedKID(t, f.m)
	if !publishNext {
		return f
	}

	f.clk.Advance(testRotationPeriod - testPublishAhead)
	refresh(t, f.m)
	kids := jwksKIDs(t, f.m)
	if len(kids) != 2 {
		t.Fatalf("JWKS has %d keys, want the active and the next key", len(kids))
	}
	f.next = kids[1]
	return f
}

func TestRotate(t *testing.T) {
	for _, test := range nextKeyCases {
		t.Run(test.name, func(t *testing.T) {
			f := newFixture(t, test.publishNext)
			st, clk, m, old, next := f.st, f.clk, f.m, f.active, f.next

			clk.Advance(time.Minute)
			if err := m.Rotate(context.Background()); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			current := signedKID(t, m)
			if current == old {
				t.Fatalf("Sign still uses %s after Rotate", old)
			}
			if test.publishNext && current != next {
				t.Errorf("Rotate activated %s, want the published next key %s", current, next)
			}

			now := clk.Now()
			info := keyInfo(t, m, old)
			if info.State != StateRetired {
				t.Errorf("old key state = %s, want retired", info.State)
			}
			if info.RetiredAt == nil || !info.RetiredAt.Equal(now) {
				t.Errorf("old key retired at %v, want now (%v)", info.RetiredAt, now)
			}
			if want := now.Add(testTokenTTL + testMargin); info.ExpiresAt == nil || !info.ExpiresAt.Equal(want) {
				t.Errorf("old key expires at %v, want %v", info.ExpiresAt, want)
			}
			if kids := jwksKIDs(t, m); !slices.Contains(kids, old) || !slices.Contains(kids, current) {
				t.Errorf("JWKS kids = %v, want both %s and %s", kids, old, current)
			}
			if states := listStates(t, m); len(states) != 2 {
				t.Errorf("store holds %d keys, want 2: %v", len(states), states)
			}

			events, err := st.ListAudit(context.Background(), store.AuditFilter{Action: actionRotated})
			if err != nil {
				t.Fatalf("ListAudit: %v", err)
			}
			if len(events) != 1 || events[0].Actor != actorOperator || !strings.Contains(events[0].Detail, current) {
				t.Errorf("rotation audit events = %+v, want one by the operator naming %s", events, current)
			}
		})
	}
}

func TestRetireActiveKey(t *testing.T) {
	for _, test := range nextKeyCases {
		t.Run(test.name, func(t *testing.T) {
			f := newFixture(t, test.publishNext)
			st, m, old, next := f.st, f.m, f.active, f.next
			verifier := newVerifier(t, m)
			token, kid, err := m.Sign(testClaims(f.clk.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if kid != old {
				t.Fatalf("Sign uses %s before Retire, want the active key %s", kid, old)
			}

			if err := m.Retire(context.Background(), old); err != nil {
				t.Fatalf("Retire: %v", err)
			}

			if kids := jwksKIDs(t, m); slices.Contains(kids, old) {
				t.Errorf("JWKS %v still has the retired key %s", kids, old)
			}
			if _, err := m.Key(context.Background(), old); !errors.Is(err, verify.ErrKeyNotFound) {
				t.Errorf("Key(%s) after Retire: error = %v, want ErrKeyNotFound", old, err)
			}
			if _, err := verifier.Verify(context.Background(), token); verify.ReasonOf(err) != verify.ReasonUnknownKey {
				t.Errorf("token of the retired key: error = %v, want reason %s", err, verify.ReasonUnknownKey)
			}

			current := signedKID(t, m)
			if current == old {
				t.Fatalf("Sign still uses the retired key %s", old)
			}
			if test.publishNext && current != next {
				t.Errorf("Sign uses %s, want the promoted next key %s", current, next)
			}
			if states := listStates(t, m); states[old] != StateExpired || states[current] != StateActive {
				t.Errorf("states = %v, want %s expired and %s active", states, old, current)
			}

			events, err := st.ListAudit(context.Background(), store.AuditFilter{Action: actionRetired})
			if err != nil {
				t.Fatalf("ListAudit: %v", err)
			}
			if len(events) != 1 || !strings.Contains(events[0].Detail, old) {
				t.Errorf("retirement audit events = %+v, want one naming %s", events, old)
			}
		})
	}
}

func TestRetireNextKey(t *testing.T) {
	f := newFixture(t, true)
	clk, m, active, next := f.clk, f.m, f.active, f.next

	if err := m.Retire(context.Background(), next); err != nil {
		t.Fatalf("Retire: %v", err)
	}
	if kid := signedKID(t, m); kid != active {
		t.Errorf("Sign uses %s after the next key was retired, want %s", kid, active)
	}

	kids := jwksKIDs(t, m)
	if slices.Contains(kids, next) {
		t.Errorf("JWKS %v still has the retired next key %s", kids, next)
	}
	if len(kids) != 2 {
		t.Fatalf("JWKS has %v, want the active key and a replacement next key", kids)
	}
	replacement := kids[1]

	info := keyInfo(t, m, active)
	if info.RetiredAt == nil || !info.RetiredAt.Equal(keyInfo(t, m, replacement).ActivatesAt) {
		t.Errorf("active key retires at %v, want the activation of the replacement", info.RetiredAt)
	}
	clk.Advance(testPublishAhead)
	if kid := signedKID(t, m); kid != replacement {
		t.Errorf("Sign uses %s after the replacement's activation, want %s", kid, replacement)
	}
}

func TestRetireRetiredKey(t *testing.T) {
	clk := newClock()
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, ES256))
	old := signedKID(t, m)
	clk.Advance(time.Minute)
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	current := signedKID(t, m)

	if err := m.Retire(context.Background(), old); err != nil {
		t.Fatalf("Retire of a retired key: %v", err)
	}
	if kids := jwksKIDs(t, m); !slices.Equal(kids, []string{current}) {
		t.Errorf("JWKS kids = %v, want only %s", kids, current)
	}
	if kid := signedKID(t, m); kid != current {
		t.Errorf("Sign uses %s, want %s unchanged", kid, current)
	}
}

func TestRetireUnknownKey(t *testing.T) {
	clk := newClock()
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, ES256))
	active := signedKID(t, m)

	err := m.Retire(context.Background(), "no-such-kid")
	if !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Retire of an unknown kid: error = %v, want ErrKeyNotFound", err)
	}
	if kid := signedKID(t, m); kid != active {
		t.Errorf("Sign uses %s after a failed Retire, want %s", kid, active)
	}
}

func TestTwoReplicasRotateOnce(t *testing.T) {
	path := storePath(t)
	clk := newClock()
	encryptionKey := mustKEK(t)
	replicas := []*Manager{
		newTestManager(t, openStoreAt(t, path), encryptionKey, testConfig(t, clk, ES256)),
		newTestManager(t, openStoreAt(t, path), encryptionKey, testConfig(t, clk, ES256)),
	}

	runAll := func(name string, op func(*Manager) error) {
		t.Helper()
		errs := make([]error, len(replicas))
		var wg sync.WaitGroup
		for i, replica := range replicas {
			wg.Go(func() { errs[i] = op(replica) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s on replica %d: %v", name, i, err)
			}
		}
	}

	runAll("Start", func(m *Manager) error { return m.Start(context.Background()) })
	if states := listStates(t, replicas[0]); len(states) != 1 {
		t.Fatalf("two first starts created %d keys, want 1", len(states))
	}

	clk.Advance(testRotationPeriod - testPublishAhead)
	runAll("Refresh", func(m *Manager) error { return m.Refresh(context.Background()) })
	if states := listStates(t, replicas[0]); len(states) != 2 {
		t.Fatalf("two replicas due to rotate left %d keys, want 2: %v", len(states), states)
	}

	events, err := replicas[0].store.ListAudit(context.Background(), store.AuditFilter{Action: actionCreated})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Errorf("audit has %d key creations, want 2 (first key and one successor)", len(events))
	}

	clk.Advance(testPublishAhead)
	first, second := signedKID(t, replicas[0]), signedKID(t, replicas[1])
	if first != second {
		t.Errorf("replicas sign with %s and %s after the rotation, want the same key", first, second)
	}
}

func TestKeyReloadsOnUnknownKID(t *testing.T) {
	path := storePath(t)
	clk := newClock()
	encryptionKey := mustKEK(t)
	local := startManager(t, openStoreAt(t, path), encryptionKey, testConfig(t, clk, ES256))
	remote := startManager(t, openStoreAt(t, path), encryptionKey, testConfig(t, clk, ES256))

	clk.Advance(time.Minute)
	if err := remote.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	token, kid, err := remote.Sign(testClaims(clk.Now()))
	if err != nil {
		t.Fatal(err)
	}

	if _, err := newVerifier(t, local).Verify(context.Background(), token); err != nil {
		t.Errorf("token of a key created by another replica: %v", err)
	}
	if got := signedKID(t, local); got != kid {
		t.Errorf("replica signs with %s after reloading, want %s", got, kid)
	}
}

func TestAlgorithmChange(t *testing.T) {
	st := openStore(t)
	clk := newClock()
	encryptionKey := mustKEK(t)
	startManager(t, st, encryptionKey, testConfig(t, clk, ES256))

	clk.Advance(time.Minute)
	m := startManager(t, st, encryptionKey, testConfig(t, clk, EdDSA))
	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 {
		t.Fatalf("List returned %d keys, want the ES256 key and an EdDSA successor", len(infos))
	}
	if infos[0].Algorithm != ES256 || infos[0].State != StateActive {
		t.Errorf("first key = %s %s, want an active ES256 key", infos[0].Algorithm, infos[0].State)
	}
	successor := infos[1]
	if successor.Algorithm != EdDSA || successor.State != StateNext {
		t.Errorf("second key = %s %s, want a next EdDSA key", successor.Algorithm, successor.State)
	}
	if want := clk.Now().Add(testPublishAhead); !successor.ActivatesAt.Equal(want) {
		t.Errorf("EdDSA key activates at %v, want after the publish-ahead time, %v", successor.ActivatesAt, want)
	}
}

func TestSignedTokenVerifies(t *testing.T) {
	for _, algorithm := range allAlgorithms {
		t.Run(algorithm, func(t *testing.T) {
			clk := newClock()
			m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, algorithm))
			want := testClaims(clk.Now())
			token, kid, err := m.Sign(want)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}

			got, err := newVerifier(t, m).Verify(context.Background(), token)
			if err != nil {
				t.Fatalf("verify.Verify with the manager as key source: %v", err)
			}
			if got.Subject != want.Subject || got.ClientID != want.ClientID || !slices.Equal(got.Scope, want.Scope) {
				t.Errorf("verified claims = %+v, want %+v", got, want)
			}

			body, _ := m.JWKS()
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatalf("decoding JWKS: %v", err)
			}
			matches := set.Key(kid)
			if len(matches) != 1 {
				t.Fatalf("JWKS has %d keys with kid %s, want 1", len(matches), kid)
			}

			signed, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(algorithm)})
			if err != nil {
				t.Fatalf("go-jose parsing the token: %v", err)
			}
			header := signed.Signatures[0].Header
			if header.KeyID != kid {
				t.Errorf("kid header = %q, want %q", header.KeyID, kid)
			}
			if typ := header.ExtraHeaders[jose.HeaderType]; typ != claims.TokenType {
				t.Errorf("typ header = %v, want %s", typ, claims.TokenType)
			}
			payload, err := signed.Verify(matches[0])
			if err != nil {
				t.Fatalf("go-jose verifying with the JWKS key: %v", err)
			}
			var decoded claims.AccessToken
			if err := json.Unmarshal(payload, &decoded); err != nil {
				t.Fatalf("decoding payload: %v", err)
			}
			if decoded.ID != want.ID || !slices.Equal(decoded.Permissions[0], want.Permissions[0]) {
				t.Errorf("go-jose payload = %+v, want %+v", decoded, want)
			}
		})
	}
}

func TestSignLargeClaims(t *testing.T) {
	clk := newClock()
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, EdDSA))
	want := testClaims(clk.Now())
	for i := range 200 {
		want.Scope = append(want.Scope, "scope."+strings.Repeat("x", i%17))
	}

	token, _, err := m.Sign(want)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	got, err := newVerifier(t, m).Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify of a token with a payload over several base64 chunks: %v", err)
	}
	if !slices.Equal(got.Scope, want.Scope) {
		t.Error("scopes changed through signing and verification")
	}
}

func TestSignBeforeStart(t *testing.T) {
	m := newTestManager(t, openStore(t), mustKEK(t), testConfig(t, newClock(), ES256))
	if _, _, err := m.Sign(testClaims(time.Now())); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("Sign before Start: error = %v, want ErrNoSigningKey", err)
	}
	if kids := jwksKIDs(t, m); len(kids) != 0 {
		t.Errorf("JWKS before Start has keys %v, want none", kids)
	}
}

func TestNewManagerConfig(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "unknown algorithm", change: func(c *Config) { c.Algorithm = "HS256" }, wantErr: `"HS256" is not supported`},
		{name: "negative TTL", change: func(c *Config) { c.TokenTTL = -time.Second }, wantErr: "token TTL is -1s"},
		{name: "publish ahead within refresh", change: func(c *Config) { c.PublishAhead = time.Minute; c.RefreshInterval = time.Minute }, wantErr: "must exceed the refresh interval"},
		{name: "rotation within publish ahead", change: func(c *Config) { c.RotationPeriod = time.Hour; c.PublishAhead = 2 * time.Hour }, wantErr: "must exceed the publish-ahead time"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var config Config
			test.change(&config)
			m, err := NewManager(openStore(t), mustKEK(t), config)
			if test.wantErr == "" {
				if err != nil {
					t.Fatalf("NewManager: %v", err)
				}
				if m.config.Algorithm != DefaultAlgorithm || m.config.RotationPeriod != DefaultRotationPeriod {
					t.Errorf("defaults not applied: %+v", m.config)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), test.wantErr) {
				t.Fatalf("NewManager error = %v, want one containing %q", err, test.wantErr)
			}
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, newClock(), ES256))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()
	cancel()
	<-done
}

func TestKeyWithStoreUnavailable(t *testing.T) {
	st := openStore(t)
	m := startManager(t, st, mustKEK(t), testConfig(t, newClock(), ES256))
	known := signedKID(t, m)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := m.Key(context.Background(), known); err != nil {
		t.Errorf("Key of a loaded key with the store closed: %v", err)
	}
	if _, err := m.Key(context.Background(), "unknown"); !errors.Is(err, verify.ErrKeysUnavailable) {
		t.Errorf("Key of an unknown kid with the store closed: error = %v, want ErrKeysUnavailable", err)
	}
	if kid := signedKID(t, m); kid != known {
		t.Errorf("Sign with the store closed uses %s, want %s", kid, known)
	}
}

func TestRotationMetrics(t *testing.T) {
	registry := prometheus.NewRegistry()
	clk := newClock()
	config := testConfig(t, clk, ES256)
	config.Registerer = registry
	st := openStore(t)
	m := startManager(t, st, mustKEK(t), config)

	clk.Advance(testRotationPeriod - testPublishAhead)
	refresh(t, m)
	clk.Advance(time.Minute)
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Retire(context.Background(), signedKID(t, m)); err != nil {
		t.Fatal(err)
	}

	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, family := range families {
		if family.GetName() != "gatepass_signing_key_rotations_total" {
			continue
		}
		for _, metric := range family.GetMetric() {
			got[metric.GetLabel()[0].GetValue()] = metric.GetCounter().GetValue()
		}
	}
	for _, reason := range []string{reasonScheduled, reasonManual, reasonEmergency} {
		if got[reason] != 1 {
			t.Errorf("rotations{reason=%q} = %v, want 1", reason, got[reason])
		}
	}

	_, err = NewManager(st, mustKEK(t), config)
	if err == nil || !strings.Contains(err.Error(), "registering signing key metrics") {
		t.Errorf("second NewManager on one registry: error = %v, want a registration error", err)
	}
}
