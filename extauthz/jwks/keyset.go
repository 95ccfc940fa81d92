package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"slices"

	"github.com/gatepass/gatepass/shared/verify"
)

// SameKey reports whether a and b are the same verification key: the same
// kid, the same published algorithm and the same public key material.
func SameKey(a, b verify.Key) bool {
	if a.ID != b.ID || a.Algorithm != b.Algorithm {
		return false
	}
	// A Cache keeps one value per unchanged key across fetches, so the
	// pointers usually match and spare the allocating Equal of ECDSA and
	// RSA keys, which authz calls on every cached check.
	switch public := a.Public.(type) {
	case *ecdsa.PublicKey:
		other, ok := b.Public.(*ecdsa.PublicKey)
		return ok && public != nil && (public == other || public.Equal(other))
	case *rsa.PublicKey:
		other, ok := b.Public.(*rsa.PublicKey)
		return ok && public != nil && (public == other || public.Equal(other))
	case ed25519.PublicKey:
		return public.Equal(b.Public)
	}
	return false
}

// keySetChange lists the kids that one fetch added, removed, or kept with
// other key material, each sorted.
type keySetChange struct {
	added    []string
	removed  []string
	replaced []string
}

func (c keySetChange) empty() bool {
	return len(c.added)+len(c.removed)+len(c.replaced) == 0
}

// diffKeys compares the keys held before a fetch with those after it.
func diffKeys(before, after map[string]verify.Key) keySetChange {
	var change keySetChange
	for kid, key := range after {
		previous, found := before[kid]
		switch {
		case !found:
			change.added = append(change.added, kid)
		case !SameKey(previous, key):
			change.replaced = append(change.replaced, kid)
		}
	}
	for kid := range before {
		if _, found := after[kid]; !found {
			change.removed = append(change.removed, kid)
		}
	}
	slices.Sort(change.added)
	slices.Sort(change.removed)
	slices.Sort(change.replaced)
	return change
}

// logKeySetChange logs how a fetch after the first one changed the keys. A
// kid that names other key material is a warning, because the gatepass
// issuer derives kids from key thumbprints, so a reused kid can mean that
// someone replaced the set.
func (c *Cache) logKeySetChange(change keySetChange, keyCount int) {
	if change.empty() {
		return
	}
	c.logger.Info("the JWK Set changed", "jwks_uri", c.jwksURL,
		"added", change.added, "removed", change.removed, "replaced", change.replaced, "keys", keyCount)
	if len(change.replaced) > 0 {
		c.logger.Warn("the JWK Set publishes other key material under kids it already used; cached tokens of those kids are verified again",
			"jwks_uri", c.jwksURL, "kids", change.replaced)
	}
}
