package bench

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"
)

// BenchmarkTokenHandler measures the server side of POST /token on each
// backend without the network: one request at a time through the issuer's
// whole handler (routing, gin, form parsing, storage, signing, JSON). Its
// allocs/op and B/op are the server's allocations per token, apart from
// the few that net/http makes per request to read it off the connection.
// Its cpu-us/op is the CPU time the process spent per request, which
// unlike ns/op leaves out time spent waiting for Postgres or for a CPU
// that other programs hold.
func BenchmarkTokenHandler(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend.name, func(b *testing.B) {
			issuer := openIssuer(b, backend.databaseURL(b), "http://127.0.0.1:8080")
			// The last-use recorder that Handler returns is not run: it only
			// keeps the latest time of the one credential in memory.
			handler, _, err := issuer.Handler()
			if err != nil {
				b.Fatalf("building the issuer handler: %v", err)
			}
			form := createForms(b, issuer, 1)[0]

			request, err := http.NewRequestWithContext(b.Context(), http.MethodPost, "http://127.0.0.1:8080/token", nil)
			if err != nil {
				b.Fatal(err)
			}
			request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			request.RemoteAddr = "127.0.0.1:40000"
			body := &formBody{}
			writer := &discardWriter{header: http.Header{}}

			b.ReportAllocs()
			cpuBefore, cpuErr := SampleCPU()
			for b.Loop() {
				body.Reset(form)
				request.Body = body
				writer.reset()
				handler.ServeHTTP(writer, request)
				if writer.status != http.StatusOK || !bytes.HasPrefix(writer.body.Bytes(), accessTokenField) {
					b.Fatalf("POST /token: status %d, body %.200q", writer.status, writer.body.Bytes())
				}
			}
			reportCPUPerOp(b, cpuBefore, cpuErr)
		})
	}
}

// formBody is a request body that can be rewound without allocating.
type formBody struct {
	bytes.Reader
}

func (*formBody) Close() error { return nil }

// discardWriter is an http.ResponseWriter that keeps the status and body
// of one response and is reset between requests, so that it allocates
// nothing once its buffers have grown.
type discardWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
	w.body.Reset()
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// reportCPUPerOp reports the CPU time this process used since before, per
// iteration, as the metric cpu-us/op. It only logs when CPU time cannot be
// read.
func reportCPUPerOp(b *testing.B, before CPUSample, beforeErr error) {
	after, err := SampleCPU()
	if err = errors.Join(beforeErr, err); err != nil {
		b.Logf("cpu-us/op is not reported: %v", err)
		return
	}
	perOp := (after.Process - before.Process) / time.Duration(b.N)
	b.ReportMetric(float64(perOp)/float64(time.Microsecond), "cpu-us/op")
}
