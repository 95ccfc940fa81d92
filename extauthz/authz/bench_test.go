package authz

import (
	"context"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// BenchmarkCheckCached measures Check on a token already in the cache: a
// digest, two cache lookups, the policy match and the response.
func BenchmarkCheckCached(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	request := bearerRequest("/reports/1", "Bearer "+f.sign(b, f.es256, nil))
	ctx := context.Background()
	if response, _ := f.server.Check(ctx, request); codes.Code(response.GetStatus().GetCode()) != codes.OK {
		b.Fatalf("warm-up check denied: %v", response.GetDeniedResponse().GetBody())
	}
	f.server.tokens.Wait()

	b.ReportAllocs()
	for b.Loop() {
		response, _ := f.server.Check(ctx, request)
		if response.GetOkResponse() == nil {
			b.Fatal("check denied")
		}
	}
}

// BenchmarkCheckCachedParallel is BenchmarkCheckCached from GOMAXPROCS
// goroutines at once, to expose contention in the caches and metrics.
func BenchmarkCheckCachedParallel(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	request := bearerRequest("/reports/1", "Bearer "+f.sign(b, f.es256, nil))
	ctx := context.Background()
	f.server.Check(ctx, request)
	f.server.tokens.Wait()

	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			response, _ := f.server.Check(ctx, request)
			if response.GetOkResponse() == nil {
				b.Error("check denied")
				return
			}
		}
	})
}

// BenchmarkCheckFresh measures Check on tokens it has not seen, each one
// costing an ES256 signature verification and a cache insert.
func BenchmarkCheckFresh(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	ctx := context.Background()
	f.server.Check(ctx, bearerRequest("/reports/1", "Bearer "+f.sign(b, f.es256, nil)))

	requests := make([]*authv3.CheckRequest, b.N)
	for i := range requests {
		requests[i] = bearerRequest("/reports/1", "Bearer "+f.sign(b, f.es256, nil))
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		response, _ := f.server.Check(ctx, requests[i])
		if response.GetOkResponse() == nil {
			b.Fatal("check denied")
		}
	}
}
