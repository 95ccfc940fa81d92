package authz

import (
	"context"

	"github.com/gatepass/gatepass/shared/verify"
)

// keyRecordContextKey is the context key of the keyRecord that
// recordingKeySource fills.
type keyRecordContextKey struct{}

// keyRecord receives the key the verifier used for one token. It stays the
// zero Key, which jwks.SameKey matches with no key, when no lookup
// succeeded.
type keyRecord struct {
	key verify.Key
}

// withKeyRecord returns a context in which recordingKeySource stores the key
// it returns in record.
func withKeyRecord(ctx context.Context, record *keyRecord) context.Context {
	return context.WithValue(ctx, keyRecordContextKey{}, record)
}

// recordingKeySource passes lookups to source and records the key it
// returns in the context's keyRecord, if there is one. The Server verifies
// tokens through it, so a cached token remembers the exact key that
// verified it and not only its kid.
type recordingKeySource struct {
	source verify.KeySource
}

// Key returns source's key for kid and records it.
func (r recordingKeySource) Key(ctx context.Context, kid string) (verify.Key, error) {
	key, err := r.source.Key(ctx, kid)
	if record, ok := ctx.Value(keyRecordContextKey{}).(*keyRecord); ok && err == nil {
		record.key = key
	}
	return key, err
}
