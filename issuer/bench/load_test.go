package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDriveSendsEveryRequest(t *testing.T) {
	tests := []struct {
		name              string
		requests, clients int
	}{
		{name: "more requests than clients", requests: 100, clients: 8},
		{name: "fewer requests than clients", requests: 3, clients: 8},
		{name: "one client", requests: 10, clients: 1},
		{name: "no requests", requests: 0, clients: 4},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			var sent atomic.Int64
			load, err := Drive(t.Context(), test.requests, test.clients, func(ctx context.Context, worker int) error {
				if worker < 0 || worker >= test.clients {
					t.Errorf("send got worker %d, want 0 to %d", worker, test.clients-1)
				}
				sent.Add(1)
				return nil
			})
			if err != nil {
				t.Fatalf("Drive: %v", err)
			}
			if got := sent.Load(); got != int64(test.requests) {
				t.Errorf("send ran %d times, want %d", got, test.requests)
			}
			if load.Requests != test.requests || len(load.Latencies) != test.requests {
				t.Errorf("load has %d requests and %d latencies, want %d", load.Requests, len(load.Latencies), test.requests)
			}
		})
	}
}

func TestDriveStopsAtFirstError(t *testing.T) {
	failure := errors.New("status 500")
	var sent atomic.Int64
	load, err := Drive(t.Context(), 1000, 4, func(ctx context.Context, worker int) error {
		if sent.Add(1) == 10 {
			return failure
		}
		return nil
	})
	if !errors.Is(err, failure) {
		t.Fatalf("Drive returned %v, want the send error", err)
	}
	if load.Requests >= 1000 {
		t.Errorf("Drive completed %d requests after an error, want it to stop early", load.Requests)
	}
}

func TestDriveStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var sent atomic.Int64
	_, err := Drive(ctx, 1000, 2, func(ctx context.Context, worker int) error {
		if sent.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Drive returned %v, want context.Canceled", err)
	}
}

func TestDriveRejectsNoClients(t *testing.T) {
	if _, err := Drive(t.Context(), 10, 0, func(context.Context, int) error { return nil }); err == nil {
		t.Error("Drive with 0 clients returned no error")
	}
}

func TestLoadPercentile(t *testing.T) {
	load := Load{Requests: 100, Elapsed: 2 * time.Second}
	for i := 1; i <= 100; i++ {
		load.Latencies = append(load.Latencies, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{p: 0, want: time.Millisecond},
		{p: 50, want: 50 * time.Millisecond},
		{p: 99, want: 99 * time.Millisecond},
		{p: 99.5, want: 100 * time.Millisecond},
		{p: 100, want: 100 * time.Millisecond},
		{p: 150, want: 100 * time.Millisecond},
	}
	for _, test := range tests {
		if got := load.Percentile(test.p); got != test.want {
			t.Errorf("Percentile(%v) = %v, want %v", test.p, got, test.want)
		}
	}
	if got := load.Throughput(); got != 50 {
		t.Errorf("Throughput() = %v, want 50", got)
	}
	if got := (Load{}).Percentile(50); got != 0 {
		t.Errorf("Percentile of an empty load = %v, want 0", got)
	}
}
