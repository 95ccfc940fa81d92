// Package lastused records when credentials were last used, off the
// request path: /token records in memory and a background loop writes the
// latest time per credential to storage in one batch.
package lastused

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Toucher writes last-use times; store.Store implements it.
type Toucher interface {
	TouchCredentials(ctx context.Context, lastUsed map[string]time.Time) error
}

// Recorder batches last-use times. It is safe for concurrent use.
type Recorder struct {
	toucher  Toucher
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time
}

// NewRecorder returns a Recorder that flushes to toucher every interval
// once Run is started.
func NewRecorder(toucher Toucher, interval time.Duration, logger *slog.Logger) *Recorder {
	return &Recorder{toucher: toucher, interval: interval, logger: logger, pending: make(map[string]time.Time)}
}

// Record notes that credentialID was used at at.
func (r *Recorder) Record(credentialID string, at time.Time) {
	r.mu.Lock()
	if previous, ok := r.pending[credentialID]; !ok || at.After(previous) {
		r.pending[credentialID] = at
	}
	r.mu.Unlock()
}

// Run flushes every interval until ctx ends, then flushes what is pending
// one last time with a fresh deadline, so a clean shutdown loses nothing.
func (r *Recorder) Run(ctx context.Context) {
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			r.Flush(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			r.Flush(final)
			cancel()
			return
		}
	}
}

// Flush writes what is pending. On failure the times are kept for the next
// flush unless newer ones arrived meanwhile.
func (r *Recorder) Flush(ctx context.Context) {
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[string]time.Time, len(batch))
	r.mu.Unlock()

	if len(batch) == 0 {
		return
	}
	if err := r.toucher.TouchCredentials(ctx, batch); err != nil {
		r.logger.WarnContext(ctx, "writing credential last-use times failed, will retry", "credentials", len(batch), "error", err)
		for id, at := range batch {
			r.Record(id, at)
		}
	}
}
