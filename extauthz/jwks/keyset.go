package jwks

import (
	"crypto"
	"slices"

	"github.com/gatepass/gatepass/shared/verify"
)

// SameKey reports whether a and b are the same verification key: the same
// kid, the same published algorithm and the same public key material.
func SameKey(a, b verify.Key) bool {
	if a.ID != b.ID || a.Algorithm != b.Algorithm {
		return false
	}
	public, ok := a.Public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && public.Equal(b.Public)
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
// kid that names other key material is a warning, because issuers derive
// kids from keys and a reused kid can mean someone replaced the set.
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
