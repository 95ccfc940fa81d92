package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// BenchmarkTokenHandler measures the server side of POST /token on each
// backend without the network: Clients goroutines call the issuer's whole
// handler (routing, gin, form parsing, storage, signing, JSON) in-process
// with one shared credential. Its allocs/op and B/op are the server's
// allocations per token, apart from what net/http allocates to read a
// request off the connection and write the response. Its cpu-us/op is the
// CPU time the process spent per request. Unlike ns/op, it leaves out the
// time that other programs, Postgres among them, hold the CPUs.
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

			b.Run(fmt.Sprintf("clients=%d", Clients), func(b *testing.B) {
				b.SetParallelism((Clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				cpuBefore, cpuErr := SampleCPU()
				b.RunParallel(func(pb *testing.PB) {
					call := newHandlerCall(b, form)
					for pb.Next() {
						if err := call.serve(handler); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				reportCPUPerOp(b, cpuBefore, cpuErr)
			})
		})
	}
}

// handlerCall is one goroutine's token request and response writer, reused
// from call to call so that they add no allocations.
type handlerCall struct {
	form    []byte
	request *http.Request
	body    *formBody
	writer  *discardWriter
}

func newHandlerCall(b *testing.B, form []byte) *handlerCall {
	request, err := http.NewRequestWithContext(b.Context(), http.MethodPost, "http://127.0.0.1:8080/token", nil)
	if err != nil {
		b.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	request.RemoteAddr = "127.0.0.1:40000"
	return &handlerCall{form: form, request: request, body: &formBody{}, writer: &discardWriter{header: http.Header{}}}
}

// serve sends the request through handler and checks that the response
// is a token response.
func (c *handlerCall) serve(handler http.Handler) error {
	c.body.Reset(c.form)
	c.request.Body = c.body
	c.writer.reset()
	handler.ServeHTTP(c.writer, c.request)
	if c.writer.status != http.StatusOK || !bytes.HasPrefix(c.writer.body.Bytes(), accessTokenField) {
		return fmt.Errorf("POST /token: status %d, body %.200q", c.writer.status, c.writer.body.Bytes())
	}
	return nil
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
