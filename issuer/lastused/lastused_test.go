package lastused

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type recordingToucher struct {
	mu      sync.Mutex
	fail    bool
	batches []map[string]time.Time
}

func (t *recordingToucher) TouchCredentials(_ context.Context, lastUsed map[string]time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail {
		return errors.New("storage down")
	}
	t.batches = append(t.batches, lastUsed)
	return nil
}

func TestFlushKeepsLatestTime(t *testing.T) {
	toucher := &recordingToucher{}
	recorder := NewRecorder(toucher, time.Hour, slog.Default())
	early, late := time.Unix(100, 0), time.Unix(200, 0)

	recorder.Record("a", late)
	recorder.Record("a", early)
	recorder.Record("b", early)
	recorder.Flush(context.Background())

	if len(toucher.batches) != 1 {
		t.Fatalf("flushed %d batches, want 1", len(toucher.batches))
	}
	if got := toucher.batches[0]["a"]; !got.Equal(late) {
		t.Errorf("a flushed as %v, want the later %v", got, late)
	}
	if got := toucher.batches[0]["b"]; !got.Equal(early) {
		t.Errorf("b flushed as %v, want %v", got, early)
	}
}

func TestFailedFlushIsRetried(t *testing.T) {
	toucher := &recordingToucher{fail: true}
	recorder := NewRecorder(toucher, time.Hour, slog.Default())
	recorder.Record("a", time.Unix(100, 0))

	recorder.Flush(context.Background())
	toucher.fail = false
	recorder.Flush(context.Background())

	if len(toucher.batches) != 1 || toucher.batches[0]["a"].IsZero() {
		t.Errorf("batches after retry = %v, want one batch with a", toucher.batches)
	}
}

func TestRunFlushesOnShutdown(t *testing.T) {
	toucher := &recordingToucher{}
	recorder := NewRecorder(toucher, time.Hour, slog.Default())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		recorder.Run(ctx)
		close(done)
	}()

	recorder.Record("a", time.Unix(100, 0))
	cancel()
	<-done

	if len(toucher.batches) != 1 {
		t.Errorf("flushed %d batches on shutdown, want 1", len(toucher.batches))
	}
}
