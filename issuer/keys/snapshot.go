package keys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/verify"
)

// snapshot is the in-memory view of the signing keys that Sign, JWKS and Key
// read without locks. It is immutable once built; a reload swaps in a new
// one.
type snapshot struct {
	// signers are the keys that sign now or may sign later, latest
	// activation first.
	signers []scheduledSigner

	// published maps the id of every published key to its public half.
	published map[string]publishedKey

	// publishedIDs lists the keys in jwks, in store order.
	publishedIDs []string

	jwks []byte
	etag string
}

// scheduledSigner is a signing key with the times between which it signs.
type scheduledSigner struct {
	*signingKey
	activatesAt time.Time

	// retiresAt is when the key stops signing, zero if not planned.
	retiresAt time.Time
}

// publishedKey is a key in the JWKS.
type publishedKey struct {
	verify.Key

	// expiresAt is when the key leaves the JWKS, zero if not planned.
	expiresAt time.Time
}

// emptySnapshot is the state before the first load: nothing signs and
// nothing is published.
func emptySnapshot() *snapshot {
	jwks, etag := renderJWKS(nil)
	return &snapshot{published: map[string]publishedKey{}, jwks: jwks, etag: etag}
}

// signer returns the key that signs at now: the latest activated key that
// has not retired. It returns nil when no key signs.
func (s *snapshot) signer(now time.Time) *signingKey {
	for i := range s.signers {
		candidate := &s.signers[i]
		if now.Before(candidate.activatesAt) {
			continue
		}
		if !candidate.retiresAt.IsZero() && !now.Before(candidate.retiresAt) {
			continue
		}
		return candidate.signingKey
	}
	return nil
}

// lookup returns the published key kid if it has not expired at now.
func (s *snapshot) lookup(kid string, now time.Time) (verify.Key, bool) {
	key, ok := s.published[kid]
	if !ok || (!key.expiresAt.IsZero() && !now.Before(key.expiresAt)) {
		return verify.Key{}, false
	}
	return key.Key, true
}

// keyMaterial is the parsed form of a key, kept between snapshots so that
// reloads parse and decrypt each key only once.
type keyMaterial struct {
	public *publicKey

	// signer is nil until the key is first loaded while it may still sign.
	signer *signingKey
}

// snapshotBuilder turns store rows into a snapshot, reusing key material
// from earlier builds.
type snapshotBuilder struct {
	open      func(row store.SigningKey, public *publicKey) (*signingKey, error)
	materials map[string]*keyMaterial
}

// build returns the snapshot of rows at now. previous supplies the JWKS when
// the set of published keys has not changed. Material of keys no longer in
// rows is dropped.
func (b *snapshotBuilder) build(rows []store.SigningKey, now time.Time, previous *snapshot) (*snapshot, error) {
	next := &snapshot{published: make(map[string]publishedKey, len(rows))}
	var jwks []json.RawMessage
	seen := make(map[string]bool, len(rows))

	for _, row := range rows {
		if expiredAt(&row, now) {
			continue
		}
		seen[row.ID] = true

		material, err := b.material(row, mayStillSign(&row, now))
		if err != nil {
			return nil, err
		}

		next.published[row.ID] = publishedKey{
			Key:       verify.Key{ID: row.ID, Algorithm: row.Algorithm, Public: material.public.public},
			expiresAt: valueOrZero(row.ExpiresAt),
		}
		next.publishedIDs = append(next.publishedIDs, row.ID)
		jwks = append(jwks, material.public.jwk)

		if material.signer != nil && mayStillSign(&row, now) {
			next.signers = append(next.signers, scheduledSigner{
				signingKey:  material.signer,
				activatesAt: row.ActivatesAt,
				retiresAt:   valueOrZero(row.RetiredAt),
			})
		}
	}

	// Latest activation first, so signer stops at the first match.
	slices.SortStableFunc(next.signers, func(a, b scheduledSigner) int {
		return b.activatesAt.Compare(a.activatesAt)
	})

	if previous != nil && slices.Equal(previous.publishedIDs, next.publishedIDs) {
		next.jwks, next.etag = previous.jwks, previous.etag
	} else {
		next.jwks, next.etag = renderJWKS(jwks)
	}

	for kid := range b.materials {
		if !seen[kid] {
			delete(b.materials, kid)
		}
	}
	return next, nil
}

// material returns the parsed key of row. It decrypts the private key when
// needSigner is set and it has not been decrypted before, and drops it when
// needSigner is unset.
func (b *snapshotBuilder) material(row store.SigningKey, needSigner bool) (*keyMaterial, error) {
	material := b.materials[row.ID]
	if material == nil {
		public, err := parsePublicKey(row)
		if err != nil {
			return nil, err
		}
		material = &keyMaterial{public: public}
		b.materials[row.ID] = material
	}
	switch {
	case needSigner && material.signer == nil:
		signer, err := b.open(row, material.public)
		if err != nil {
			return nil, err
		}
		material.signer = signer
	case !needSigner:
		// A retired key never signs again, so its private key need not
		// stay in memory.
		material.signer = nil
	}
	return material, nil
}

// renderJWKS encodes a JWK Set and returns it with a strong ETag, quoted
// as the ETag header requires.
func renderJWKS(keys []json.RawMessage) ([]byte, string) {
	if keys == nil {
		keys = []json.RawMessage{}
	}
	body, err := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{keys})
	if err != nil {
		// Every element comes from JSONWebKey.MarshalJSON, so encoding the set
		// cannot fail.
		panic(fmt.Sprintf("keys: encoding JWKS: %v", err))
	}
	sum := sha256.Sum256(body)
	return body, `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
}

func valueOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
