package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatepass/gatepass/issuer/app"
	"github.com/gatepass/gatepass/issuer/config"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

// Clients is the number of concurrent clients that BenchmarkToken runs,
// each with its own credential and keep-alive connection.
const Clients = 32

// benchKEK is the key-encryption key of the benchmark issuers, base64 of
// the bytes 0 to 31. It protects nothing: every database is thrown away.
const benchKEK = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// backend is a storage backend the benchmarks run against.
type backend struct {
	name string

	// databaseURL returns the URL of a new, empty database.
	databaseURL func(b *testing.B) string
}

var backends = []backend{
	{name: "sqlite", databaseURL: func(b *testing.B) string { return filepath.Join(b.TempDir(), "gatepass.db") }},
	{name: "postgres", databaseURL: func(b *testing.B) string { return pgtest.NewDatabase(b) }},
}

// BenchmarkToken measures POST /token end to end on each backend: Clients
// workers each send client_credentials requests with client_secret_post,
// as the existing clients do, over their own keep-alive connection to an
// issuer served by app.ServeListener on loopback. Client and server run in
// this one process, so allocs/op and B/op count both sides;
// BenchmarkTokenHandler counts the server alone. The metric cpu-process-%
// is the share of all CPUs that this process used during the load, and
// cpu-others-% the share that everything else on the machine used:
// Postgres, and any unrelated load.
func BenchmarkToken(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend.name, func(b *testing.B) {
			issuer, issuerURL := startIssuer(b, backend.databaseURL(b))
			client := newTokenClient(issuerURL+"/token", createForms(b, issuer, Clients))

			b.Run(fmt.Sprintf("clients=%d", Clients), func(b *testing.B) {
				b.ReportAllocs()
				cpuBefore, cpuErr := SampleCPU()
				load, err := Drive(b.Context(), b.N, Clients, client.send)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(load.Throughput(), "tokens/s")
				b.ReportMetric(milliseconds(load.Percentile(50)), "p50-ms")
				b.ReportMetric(milliseconds(load.Percentile(99)), "p99-ms")

				cpuAfter, err := SampleCPU()
				if err = errors.Join(cpuErr, err); err != nil {
					b.Logf("CPU shares are not reported: %v", err)
					return
				}
				process, others := CPUShares(cpuBefore, cpuAfter, load.Elapsed, runtime.NumCPU())
				b.ReportMetric(process, "cpu-process-%")
				b.ReportMetric(others, "cpu-others-%")
			})
		})
	}
}

func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// startIssuer opens an issuer on databaseURL, as `issuer serve` does, and
// serves it on a loopback port until the benchmark ends. It returns the
// issuer and its URL.
func startIssuer(b *testing.B, databaseURL string) (*app.Issuer, string) {
	b.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listening on loopback: %v", err)
	}
	issuerURL := "http://" + listener.Addr().String()
	issuer := openIssuer(b, databaseURL, issuerURL)

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- issuer.ServeListener(ctx, listener) }()
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Errorf("issuer stopped with an error: %v", err)
		}
	})
	return issuer, issuerURL
}

// openIssuer opens an issuer with the default configuration on
// databaseURL and closes it when the benchmark ends. Its logger writes
// warnings and errors only, so the output stays readable.
func openIssuer(b *testing.B, databaseURL, issuerURL string) *app.Issuer {
	b.Helper()
	cfg := config.Bind(pflag.NewFlagSet("bench", pflag.ContinueOnError))
	cfg.IssuerURL = issuerURL
	cfg.DatabaseURL = databaseURL
	cfg.KeyEncryptionKey = benchKEK
	if err := cfg.Validate(); err != nil {
		b.Fatalf("issuer configuration: %v", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	issuer, err := app.Open(b.Context(), cfg, logger)
	if err != nil {
		b.Fatalf("opening the issuer on %s: %v", databaseURL, err)
	}
	b.Cleanup(func() { issuer.Close() })
	return issuer
}

// createForms creates n clients with one credential each and returns the
// form body of a token request for each.
func createForms(b *testing.B, issuer *app.Issuer, n int) [][]byte {
	b.Helper()
	forms := make([][]byte, n)
	for i := range forms {
		created, err := issuer.CreateCredential(b.Context(), app.NewCredential{
			ClientID:       fmt.Sprintf("bench-client-%d", i),
			Type:           "interactive",
			Scopes:         []string{"orders.read", "orders.write"},
			RegisterClient: true,
		})
		if err != nil {
			b.Fatalf("creating credential %d: %v", i, err)
		}
		forms[i] = []byte(url.Values{"client_id": {created.ClientID}, "client_secret": {created.Secret}}.Encode())
	}
	return forms
}

// tokenClient sends token requests, one worker per form.
type tokenClient struct {
	http  *http.Client
	url   string
	forms [][]byte

	// bodies holds a response buffer per worker, reused between requests.
	bodies []bytes.Buffer
}

func newTokenClient(tokenURL string, forms [][]byte) *tokenClient {
	transport := &http.Transport{
		MaxIdleConnsPerHost: len(forms),
		MaxConnsPerHost:     len(forms),
		DisableCompression:  true,
	}
	return &tokenClient{
		http:   &http.Client{Transport: transport, Timeout: 30 * time.Second},
		url:    tokenURL,
		forms:  forms,
		bodies: make([]bytes.Buffer, len(forms)),
	}
}

// accessTokenField is how every successful token response starts.
var accessTokenField = []byte(`{"access_token":"`)

// send requests one token with the credential of worker and checks that
// the reply is a token response.
func (c *tokenClient) send(ctx context.Context, worker int) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.forms[worker]))
	if err != nil {
		return fmt.Errorf("building the token request: %w", err)
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	response, err := c.http.Do(request)
	if err != nil {
		return fmt.Errorf("POST %s: %w", c.url, err)
	}
	defer response.Body.Close()
	body := &c.bodies[worker]
	body.Reset()
	if _, err := body.ReadFrom(response.Body); err != nil {
		return fmt.Errorf("reading the token response: %w", err)
	}
	if response.StatusCode != http.StatusOK || !bytes.HasPrefix(body.Bytes(), accessTokenField) {
		return fmt.Errorf("POST %s: status %d, body %.200q", c.url, response.StatusCode, body.Bytes())
	}
	return nil
}
