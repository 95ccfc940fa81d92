package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/gatepass/gatepass/extauthz/checkclient"
	"github.com/gatepass/gatepass/extauthz/config"
	"github.com/gatepass/gatepass/extauthz/internal/logrecorder"
	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
)

const policyV1 = `
default: deny
rules:
  - prefix: /api
    access: authenticated
`

const policyV2 = `
default: deny
rules:
  - prefix: /api
    access: scopes
    scopes:
      all_of: [admin]
`

type fixture struct {
	issuer     *testissuer.Server
	key        *testissuer.Key
	server     *Server
	conn       *grpc.ClientConn
	policyPath string

	// stop cancels Run and returns its error. Calls after the first return
	// the same error.
	stop func() error
}

func startServer(t *testing.T) *fixture {
	t.Helper()
	return startServerLogging(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startServerLogging starts a sidecar that logs to logger and waits until it
// is ready. The test's cleanup stops it.
func startServerLogging(t *testing.T, logger *slog.Logger) *fixture {
	t.Helper()
	key, err := testissuer.NewKey("k1", "ES256")
	if err != nil {
		t.Fatal(err)
	}
	issuer := testissuer.NewServer(key)
	t.Cleanup(issuer.Close)

	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(policyV1), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Listen:          "127.0.0.1:0",
		MetricsListen:   "127.0.0.1:0",
		IssuerURL:       issuer.URL(),
		Audience:        testissuer.Audience,
		PolicyFile:      policyPath,
		TokenCacheBytes: 1 << 20,
		KeyCacheSize:    10,
		RefreshInterval: time.Minute,
		RefetchInterval: time.Second,
		MaxStaleness:    time.Hour,
		ShutdownTimeout: 5 * time.Second,
	}
	server, err := New(cfg, logger)
	if err != nil {
		t.Fatalf("New failed: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run returned %v", err)
		}
	})

	conn, err := grpc.NewClient(server.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	f := &fixture{issuer: issuer, key: key, server: server, conn: conn, policyPath: policyPath, stop: stop}
	f.waitReady(t)
	return f
}

// waitReady watches the health of the Authorization service until it is
// SERVING.
func (f *fixture) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := healthpb.NewHealthClient(f.conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: AuthorizationService})
	if err != nil {
		t.Fatal(err)
	}
	for {
		response, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for the sidecar to become ready: %v", err)
		}
		if response.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
	}
}

func (f *fixture) check(t *testing.T, token, path string) *authv3.CheckResponse {
	t.Helper()
	request := checkclient.Request{Token: token, Method: "GET", Path: path, Host: "api.test"}
	response, err := authv3.NewAuthorizationClient(f.conn).Check(context.Background(), request.CheckRequest())
	if err != nil {
		t.Fatalf("Check failed: %v", err)
	}
	return response
}

func (f *fixture) token(t *testing.T, scopes ...string) string {
	t.Helper()
	token, err := f.key.Sign(f.issuer.Claims("svc-a", scopes...))
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestServerChecksAndReloads(t *testing.T) {
	f := startServer(t)
	token := f.token(t, "read")

	if response := f.check(t, token, "/api/x"); !checkclient.Allowed(response) {
		t.Fatalf("check denied: %v", response.GetDeniedResponse())
	}

	if err := os.WriteFile(f.policyPath, []byte("rules: [oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.server.ReloadPolicy(); err == nil {
		t.Fatal("ReloadPolicy of an invalid file succeeded")
	}
	if response := f.check(t, token, "/api/x"); !checkclient.Allowed(response) {
		t.Fatal("check denied after a failed reload, want the old policy in force")
	}

	if err := os.WriteFile(f.policyPath, []byte(policyV2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.server.ReloadPolicy(); err != nil {
		t.Fatalf("ReloadPolicy failed: %v", err)
	}
	response := f.check(t, token, "/api/x")
	if got := codes.Code(response.GetStatus().GetCode()); got != codes.PermissionDenied {
		t.Errorf("check answered %v under the new policy, want PermissionDenied", got)
	}
}

func TestServerHealth(t *testing.T) {
	f := startServer(t)
	client := healthpb.NewHealthClient(f.conn)

	for _, service := range []string{"", AuthorizationService} {
		response, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health of %q: %v", service, err)
		}
		if response.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, want SERVING", service, response.GetStatus())
		}
	}
}

func TestServerLogsStartAndStop(t *testing.T) {
	logs := logrecorder.New()
	f := startServerLogging(t, logs.Logger())
	if err := f.stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}

	var messages []string
	for _, entry := range logs.Entries() {
		messages = append(messages, entry.Message)
	}
	for _, want := range []string{"ext_authz sidecar started", "ext_authz sidecar stopping", "ext_authz sidecar stopped"} {
		if !slices.Contains(messages, want) {
			t.Errorf("log %q lacks %q", messages, want)
		}
	}
	if last := messages[len(messages)-1]; last != "ext_authz sidecar stopped" {
		t.Errorf("last log message = %q, want %q", last, "ext_authz sidecar stopped")
	}
}

func TestServerLogsReadiness(t *testing.T) {
	tests := []struct {
		name       string
		ready      bool
		wantLevel  slog.Level
		wantStatus healthpb.HealthCheckResponse_ServingStatus
		wantText   string
	}{
		{name: "ready", ready: true, wantLevel: slog.LevelInfo, wantStatus: healthpb.HealthCheckResponse_SERVING, wantText: "authorization ready"},
		{name: "not ready", ready: false, wantLevel: slog.LevelWarn, wantStatus: healthpb.HealthCheckResponse_NOT_SERVING, wantText: "denied with 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logrecorder.New()
			s := &Server{config: &config.Config{MaxStaleness: time.Hour}, logger: logs.Logger(), health: health.NewServer()}

			s.setReadiness(tt.ready)

			entries := logs.Entries()
			if len(entries) != 1 {
				t.Fatalf("logged %d records, want 1: %+v", len(entries), entries)
			}
			if entries[0].Level != tt.wantLevel {
				t.Errorf("level = %v, want %v", entries[0].Level, tt.wantLevel)
			}
			if !strings.Contains(entries[0].Message, tt.wantText) {
				t.Errorf("message %q does not mention %q", entries[0].Message, tt.wantText)
			}
			response, err := s.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: AuthorizationService})
			if err != nil {
				t.Fatal(err)
			}
			if response.GetStatus() != tt.wantStatus {
				t.Errorf("health = %v, want %v", response.GetStatus(), tt.wantStatus)
			}
		})
	}
}

func TestServerReflection(t *testing.T) {
	f := startServer(t)
	stream, err := reflectionpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	response, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}

	var services []string
	for _, service := range response.GetListServicesResponse().GetService() {
		services = append(services, service.GetName())
	}
	for _, want := range []string{"envoy.service.auth.v3.Authorization", "grpc.health.v1.Health"} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %v, want %s among them", services, want)
		}
	}
}

func TestServerMetrics(t *testing.T) {
	f := startServer(t)
	token := f.token(t)
	f.check(t, token, "/api/x")
	f.check(t, token, "/elsewhere")

	base := "http://" + f.server.MetricsAddr().String()
	body := httpGet(t, base+"/metrics", http.StatusOK)
	for _, want := range []string{
		`gatepass_extauthz_checks_total{decision="allow",reason="allowed"} 1`,
		`gatepass_extauthz_checks_total{decision="deny",reason="no_matching_rule"} 1`,
		`gatepass_extauthz_check_duration_seconds_bucket{decision="allow"`,
		`gatepass_extauthz_token_cache_lookups_total{result="miss"}`,
		`gatepass_extauthz_token_cache_hit_ratio`,
		`gatepass_extauthz_jwks_fetches_total{result="updated"} 1`,
		`gatepass_extauthz_jwks_fetches_total{result="failed"} 0`,
		`gatepass_extauthz_jwks_keys 1`,
		`gatepass_extauthz_jwks_keys_age_seconds`,
		`gatepass_extauthz_policy_reloads_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	httpGet(t, base+"/health", http.StatusOK)
	if ready := httpGet(t, base+"/health/ready", http.StatusOK); !strings.Contains(ready, `"keys":1`) {
		t.Errorf("/health/ready = %s, want one key", ready)
	}
}

func httpGet(t *testing.T, url string, wantStatus int) string {
	t.Helper()
	response, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if response.StatusCode != wantStatus {
		t.Errorf("GET %s = %d, want %d: %s", url, response.StatusCode, wantStatus, body)
	}
	return string(body)
}

func TestNewRejectsInvalidPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - prefix: /a\n    access: maybe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Listen: "127.0.0.1:0", IssuerURL: "http://127.0.0.1:1", Audience: "a", PolicyFile: path}

	_, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("New succeeded with an invalid policy")
	}
	if want := path + ":3: rule 1: access"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
}
