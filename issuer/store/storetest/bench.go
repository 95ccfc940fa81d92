package storetest

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// BenchmarkGetCredential measures GetCredential, which the token endpoint
// calls on every request, on an empty store s: one caller at a time in
// "serial", and as many concurrent callers as GOMAXPROCS in "parallel",
// whose ns/op is the inverse of the throughput.
func BenchmarkGetCredential(b *testing.B, s store.Store) {
	ctx := b.Context()
	cred := newCredential("cred-1", "svc-a")
	if err := s.CreateCredential(ctx, cred, store.CreateCredentialOptions{RegisterClient: true}); err != nil {
		b.Fatalf("CreateCredential failed: %v", err)
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetCredential(ctx, cred.ID); err != nil {
				b.Fatalf("GetCredential failed: %v", err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetCredential(ctx, cred.ID); err != nil {
					b.Errorf("GetCredential failed: %v", err)
					return
				}
			}
		})
	})
}

// BenchmarkRotateRefreshToken measures RotateRefreshToken on an empty store
// s. Each iteration rotates the child of the one before, so none is a
// replay.
func BenchmarkRotateRefreshToken(b *testing.B, s store.Store) {
	ctx := b.Context()
	cred := newCredential("cred-1", "svc-a")
	if err := s.CreateCredential(ctx, cred, store.CreateCredentialOptions{RegisterClient: true}); err != nil {
		b.Fatalf("CreateCredential failed: %v", err)
	}
	parent := newRefreshToken("parent", cred)
	if err := s.CreateRefreshToken(ctx, parent); err != nil {
		b.Fatalf("CreateRefreshToken failed: %v", err)
	}

	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		n++
		// 32 bytes, the size of a keyed hash built on SHA-256.
		hash := binary.BigEndian.AppendUint64(make([]byte, 24, 32), n)
		child := store.RefreshToken{
			Hash:              hash,
			CredentialID:      cred.ID,
			ClientID:          cred.ClientID,
			Scopes:            parent.Scopes,
			SealedAccessToken: parent.SealedAccessToken,
			CreatedAt:         now,
			ExpiresAt:         now.Add(24 * time.Hour),
		}
		rotation, err := s.RotateRefreshToken(ctx, parent.Hash, child, now, time.Minute)
		if err != nil {
			b.Fatalf("RotateRefreshToken failed: %v", err)
		}
		parent = rotation.Token
	}
}
