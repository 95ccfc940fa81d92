// Package bench measures the issuer's token endpoint end to end: real HTTP
// on loopback, real storage and real signing.
//
// The benchmarks live in this package's tests; `make bench` runs them
// through cmd/issuerbench, which also writes docs/benchmarks.md. This file
// contains the load generator the benchmarks share.
package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is the outcome of one run of Drive.
type Load struct {
	// Requests is the number of requests that completed.
	Requests int

	// Elapsed is the wall time from the first request to the last reply.
	Elapsed time.Duration

	// Latencies contains the latency of every request, in ascending order.
	Latencies []time.Duration
}

// Throughput returns completed requests per second.
func (l Load) Throughput() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.Requests) / l.Elapsed.Seconds()
}

// Percentile returns the latency that p percent of requests did not
// exceed, by the nearest-rank method, or zero when no request completed.
// p is clamped to the range 0 to 100.
func (l Load) Percentile(p float64) time.Duration {
	if len(l.Latencies) == 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	rank := int(math.Ceil(p / 100 * float64(len(l.Latencies))))
	return l.Latencies[max(rank, 1)-1]
}

// Drive sends requests in total from clients concurrent workers, each
// calling send once per request, and measures the latency of each call. A
// worker stops early when send fails or ctx ends, and Drive then returns
// the first error with what completed before it.
func Drive(ctx context.Context, requests, clients int, send func(ctx context.Context, worker int) error) (Load, error) {
	if clients < 1 {
		return Load{}, fmt.Errorf("drive load: invalid client count %d: at least 1 is required", clients)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	var (
		next      atomic.Int64
		firstErr  error
		errOnce   sync.Once
		workers   sync.WaitGroup
		latencies = make([][]time.Duration, clients)
	)
	start := time.Now()
	for worker := range clients {
		own := make([]time.Duration, 0, requests/clients+1)
		workers.Go(func() {
			defer func() { latencies[worker] = own }()
			for next.Add(1) <= int64(requests) && ctx.Err() == nil {
				sent := time.Now()
				if err := send(ctx, worker); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				own = append(own, time.Since(sent))
			}
		})
	}
	workers.Wait()
	elapsed := time.Since(start)

	all := slices.Concat(latencies...)
	slices.Sort(all)
	load := Load{Requests: len(all), Elapsed: elapsed, Latencies: all}
	if firstErr == nil && parent.Err() != nil {
		firstErr = fmt.Errorf("drive load: stopped after %d of %d requests: %w", len(all), requests, parent.Err())
	}
	return load, firstErr
}
