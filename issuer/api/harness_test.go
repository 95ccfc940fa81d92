package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatepass/gatepass/issuer/api"
	"github.com/gatepass/gatepass/issuer/keys"
	"github.com/gatepass/gatepass/issuer/keys/kek"
	"github.com/gatepass/gatepass/issuer/lastused"
	"github.com/gatepass/gatepass/issuer/ratelimit"
	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/dial"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

const testAdminToken = "test-admin-token-0123456789"

// backends lists the storage backends every API test runs against.
var backends = []string{"sqlite", "postgres"}

// eachBackend runs test once per storage backend, as a subtest named after
// the backend.
func eachBackend(t *testing.T, test func(t *testing.T, backend string)) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { test(t, backend) })
	}
}

// testIssuer is a running API on a loopback httptest server over a real
// store and real signing keys.
type testIssuer struct {
	URL      string
	Store    store.Store
	Keys     *keys.Manager
	Secrets  *secret.Codec
	Recorder *lastused.Recorder
	Limiter  *ratelimit.Limiter
}

// harnessSettings are what an issuerOption may change.
type harnessSettings struct {
	config  api.Config
	limiter ratelimit.Config
	now     func() time.Time
}

type issuerOption func(*harnessSettings)

// withClock replaces the API's clock.
func withClock(now func() time.Time) issuerOption {
	return func(s *harnessSettings) { s.now = now }
}

// withCredentialCap caps the active credentials per client.
func withCredentialCap(limit int) issuerOption {
	return func(s *harnessSettings) { s.config.MaxActiveCredentials = limit }
}

// withAuthBurst lets only burst failed authentications through per key.
func withAuthBurst(burst int) issuerOption {
	return func(s *harnessSettings) { s.limiter.Burst = burst }
}

func openStore(t *testing.T, backend string) store.Store {
	t.Helper()
	var dsn string
	switch backend {
	case "sqlite":
		dsn = filepath.Join(t.TempDir(), "gatepass.db")
	case "postgres":
		dsn = pgtest.NewDatabase(t)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	st, err := dial.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("opening %s store: %v", backend, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startIssuer(t *testing.T, backend string, options ...issuerOption) *testIssuer {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, backend)

	encryptionKey, err := kek.Generate()
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := secret.NewCodec("gp", encryptionKey.DeriveKey("test secret hash"))
	if err != nil {
		t.Fatal(err)
	}
	manager, err := keys.NewManager(st, encryptionKey, keys.Config{Algorithm: "ES256", TokenTTL: 5 * time.Minute, Logger: slog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	if err := manager.Start(ctx); err != nil {
		t.Fatal(err)
	}

	httpServer := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + httpServer.Listener.Addr().String()
	config := api.Config{
		IssuerURL:            issuerURL,
		Audience:             issuerURL,
		TokenTTL:             5 * time.Minute,
		RefreshTTL:           24 * time.Hour,
		RefreshGrace:         5 * time.Second,
		CookieName:           "access_token",
		AdminToken:           testAdminToken,
		SigningAlgorithm:     "ES256",
		JWKSMaxAge:           5 * time.Minute,
		MaxActiveCredentials: 100,
	}
	limiterConfig := ratelimit.DefaultConfig()
	limiterConfig.Burst = 1000
	limiterConfig.Step = time.Millisecond
	limiterConfig.MaxDelay = time.Millisecond
	settings := harnessSettings{config: config, limiter: limiterConfig}
	for _, option := range options {
		option(&settings)
	}
	config = settings.config
	limiter := ratelimit.New(settings.limiter)
	recorder := lastused.NewRecorder(st, time.Hour, slog.Default())
	server, err := api.New(config, api.Deps{
		Store: st, Signer: manager, Keys: manager, Sealer: encryptionKey, Secrets: secrets,
		Limiter: limiter, Usage: recorder, Metrics: api.NewMetrics(prometheus.NewRegistry()), Logger: slog.Default(), Now: settings.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := server.Handler()
	if err != nil {
		t.Fatal(err)
	}
	httpServer.Config.Handler = handler
	httpServer.Start()
	t.Cleanup(httpServer.Close)

	return &testIssuer{URL: issuerURL, Store: st, Keys: manager, Secrets: secrets, Recorder: recorder, Limiter: limiter}
}

// credentialSpec describes a credential created directly in storage.
type credentialSpec struct {
	clientID    string
	scopes      string
	permissions [][]string
	expiresAt   *time.Time
}

// createCredential stores a credential and returns its id and secret.
func (ti *testIssuer) createCredential(t *testing.T, spec credentialSpec) (id, value string) {
	t.Helper()
	id = secret.NewCredentialID()
	value, err := ti.Secrets.NewCredentialSecret(id)
	if err != nil {
		t.Fatal(err)
	}
	credential := store.Credential{
		ID: id, ClientID: spec.clientID, Type: "interactive",
		SecretHash: ti.Secrets.HashCredentialSecret(value), Scopes: strings.Fields(spec.scopes),
		Permissions: spec.permissions, CreatedAt: time.Now().UTC().Truncate(time.Microsecond), ExpiresAt: spec.expiresAt,
	}
	if credential.Permissions == nil {
		credential.Permissions = [][]string{}
	}
	if err := ti.Store.CreateCredential(context.Background(), credential, store.CreateCredentialOptions{RegisterClient: true}); err != nil {
		t.Fatalf("creating credential for %s: %v", spec.clientID, err)
	}
	return id, value
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, target any) {
	t.Helper()
	if err := json.Unmarshal(r.body, target); err != nil {
		t.Fatalf("decoding body %q: %v", r.body, err)
	}
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	r.json(t, &out)
	return out
}

func do(t *testing.T, request *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", request.Method, request.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func newRequest(t *testing.T, method, url, contentType string, body string, headers ...string) *http.Request {
	t.Helper()
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		request.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		request.Header.Add(headers[i], headers[i+1])
	}
	return request
}

// postToken sends a form to /token.
func (ti *testIssuer) postToken(t *testing.T, form url.Values, headers ...string) response {
	t.Helper()
	return do(t, newRequest(t, http.MethodPost, ti.URL+"/token", "application/x-www-form-urlencoded", form.Encode(), headers...))
}

// token obtains an access token with client_secret_post or fails the test.
func (ti *testIssuer) token(t *testing.T, clientID, value string, extra ...string) map[string]any {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "client_secret": {value}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	resp := ti.postToken(t, form)
	if resp.status != http.StatusOK {
		t.Fatalf("token for %s: status %d, body %s", clientID, resp.status, resp.body)
	}
	return resp.object(t)
}

// accessToken returns only the access token.
func (ti *testIssuer) accessToken(t *testing.T, clientID, value string, extra ...string) string {
	t.Helper()
	return ti.token(t, clientID, value, extra...)["access_token"].(string)
}

func bearer(token string) []string {
	return []string{"Authorization", "Bearer " + token}
}
