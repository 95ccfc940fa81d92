package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatepass/gatepass/extauthz/checkclient"
)

// issuer is a cmd/issuer process over an SQLite file, restartable on the
// same address.
type issuer struct {
	address string
	env     []string
	process *process
}

// tokenTTL is the access token lifetime of the test issuer, the shortest
// it allows, so a test can watch old tokens expire.
const tokenTTL = 10 * time.Second

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	address := freeAddress(t)
	return &issuer{
		address: address,
		env: []string{
			"GATEPASS_LISTEN=" + address,
			"GATEPASS_ISSUER_URL=" + "http://" + address,
			"GATEPASS_DATABASE_URL=" + filepath.Join(t.TempDir(), "gatepass.db"),
			"GATEPASS_ADMIN_TOKEN=e2e-admin-token-0123456789abcdef",
			"GATEPASS_TOKEN_TTL=" + tokenTTL.String(),
		},
	}
}

func (i *issuer) url() string { return "http://" + i.address }

// start runs `issuer serve` and waits until /health/ready returns 200.
func (i *issuer) start(t *testing.T) {
	t.Helper()
	i.process = startProcess(t, "issuer", binaries.issuer, i.env, "serve")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		request, _ := http.NewRequestWithContext(ctx, http.MethodGet, i.url()+"/health/ready", nil)
		if response, err := http.DefaultClient.Do(request); err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("issuer at %s not ready within 30s", i.address)
		case <-i.process.done:
			t.Fatalf("issuer exited while starting")
		case <-ticker.C:
		}
	}
}

// stop ends `issuer serve`.
func (i *issuer) stop(t *testing.T) {
	t.Helper()
	i.process.stop(t)
}

// run runs an issuer operator command to completion and returns its
// standard output.
func (i *issuer) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binaries.issuer, args...)
	cmd.Env = append(baseEnvironment(), i.env...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	output, err := cmd.Output()
	if err != nil {
		t.Fatalf("issuer %s: %v\n%s", strings.Join(args, " "), err, logs.String())
	}
	return output
}

// credential is a client credential the issuer created.
type credential struct {
	ClientID     string `json:"client_id"`
	CredentialID string `json:"credential_id"`
	Secret       string `json:"secret"`
}

func (i *issuer) createCredential(t *testing.T, clientID, scopes string) credential {
	t.Helper()
	var created credential
	if err := json.Unmarshal(i.run(t, "credentials", "create", clientID, "--scopes", scopes, "--output", "json"), &created); err != nil {
		t.Fatalf("decoding the created credential: %v", err)
	}
	return created
}

// token gets an access token with the OAuth 2.0 client credentials grant,
// through golang.org/x/oauth2 as the existing clients' libraries do.
func (i *issuer) token(t *testing.T, c credential, scopes ...string) string {
	t.Helper()
	config := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.Secret,
		TokenURL:     i.url() + "/token",
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	token, err := config.Token(context.Background())
	if err != nil {
		t.Fatalf("getting a token for %s: %v", c.ClientID, err)
	}
	return token.AccessToken
}

// sidecar is a cmd/extauthz process with a gRPC connection to it.
type sidecar struct {
	address    string
	policyPath string
	process    *process
	conn       *grpc.ClientConn
}

// refetchInterval is the sidecar's limit on JWK Set fetches for unknown
// key ids, and its longest retry wait while the issuer is down.
const refetchInterval = time.Second

// startSidecar runs `extauthz serve` against iss with policy.
func startSidecar(t *testing.T, iss *issuer, policy string) *sidecar {
	t.Helper()
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policyPath, policy)

	s := &sidecar{address: freeAddress(t), policyPath: policyPath}
	s.process = startProcess(t, "extauthz", binaries.extauthz, []string{
		"GATEPASS_ISSUER_URL=" + iss.url(),
		"GATEPASS_POLICY_FILE=" + policyPath,
		"GATEPASS_EXTAUTHZ_LISTEN=" + s.address,
		"GATEPASS_EXTAUTHZ_JWKS_REFETCH_INTERVAL=" + refetchInterval.String(),
		"GATEPASS_EXTAUTHZ_LEEWAY=1s",
	}, "serve", "--metrics-listen", "127.0.0.1:0")

	conn, err := grpc.NewClient(s.address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.conn = conn
	return s
}

// waitHealth watches the gRPC health of the Authorization service until
// it reports want.
func (s *sidecar) waitHealth(t *testing.T, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client := healthpb.NewHealthClient(s.conn)
	for {
		// The stream fails while the sidecar is still binding its port, so
		// a failed stream is retried until the deadline.
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"}, grpc.WaitForReady(true))
		if err != nil {
			t.Fatalf("watching sidecar health: %v", err)
		}
		for {
			response, err := stream.Recv()
			if err != nil {
				break
			}
			if response.GetStatus() == want {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("sidecar health did not become %v within 30s", want)
		}
	}
}

// check sends a Check for a GET of path with token as a real Envoy would,
// through go-control-plane's client.
func (s *sidecar) check(t *testing.T, token, path string) *authv3.CheckResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	request := checkclient.Request{Token: token, Method: http.MethodGet, Path: path, Host: "api.example.com"}
	response, err := authv3.NewAuthorizationClient(s.conn).Check(ctx, request.CheckRequest(), grpc.WaitForReady(true))
	if err != nil {
		t.Fatalf("Check %s: %v", path, err)
	}
	return response
}

// requireDecision fails the test unless response has HTTP status want, 200
// meaning allowed.
func requireDecision(t *testing.T, response *authv3.CheckResponse, want int) {
	t.Helper()
	got := http.StatusOK
	if code := codes.Code(response.GetStatus().GetCode()); code != codes.OK {
		got = int(response.GetDeniedResponse().GetStatus().GetCode())
	}
	if got != want {
		t.Fatalf("decision %d (%s), want %d", got, response.GetStatus().GetMessage(), want)
	}
}

// keyID returns the kid header of a JWT.
func keyID(t *testing.T, token string) string {
	t.Helper()
	encoded, _, _ := strings.Cut(token, ".")
	decoded, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	var header struct {
		KeyID string `json:"kid"`
	}
	if err := json.Unmarshal(decoded, &header); err != nil {
		t.Fatal(err)
	}
	return header.KeyID
}

// expiry returns the exp claim of a JWT.
func expiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	decoded, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		ExpiresAt int64 `json:"exp"`
	}
	if err := json.Unmarshal(decoded, &payload); err != nil {
		t.Fatal(err)
	}
	return time.Unix(payload.ExpiresAt, 0)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
