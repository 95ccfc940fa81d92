package keys

import (
	"cmp"
	"slices"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// State is the place of a signing key in its lifecycle at a given time.
type State string

// Key states.
const (
	// StateNext is a key that is published in the JWKS but does not sign yet.
	StateNext State = "next"

	// StateActive is the key that signs new tokens.
	StateActive State = "active"

	// StateRetired is a key that no longer signs but stays published until
	// every token it signed has expired.
	StateRetired State = "retired"

	// StateExpired is a key that is no longer published and waits for
	// deletion.
	StateExpired State = "expired"
)

// expiredAt reports whether key is no longer published at now.
func expiredAt(key *store.SigningKey, now time.Time) bool {
	return key.ExpiresAt != nil && !now.Before(*key.ExpiresAt)
}

// retiredAt reports whether key has stopped signing at now.
func retiredAt(key *store.SigningKey, now time.Time) bool {
	return key.RetiredAt != nil && !now.Before(*key.RetiredAt)
}

// mayStillSign reports whether key signs at now or may sign later.
func mayStillSign(key *store.SigningKey, now time.Time) bool {
	return !expiredAt(key, now) && !retiredAt(key, now)
}

// signsAt reports whether key is eligible to sign at now. When several keys
// are, the one activated last signs.
func signsAt(key *store.SigningKey, now time.Time) bool {
	return mayStillSign(key, now) && !now.Before(key.ActivatesAt)
}

// activationOrder sorts keys by activation time, then creation time, then id.
func activationOrder(a, b *store.SigningKey) int {
	if c := a.ActivatesAt.Compare(b.ActivatesAt); c != 0 {
		return c
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// stateOf returns the state of key at now, where activeID is the id of the
// key that signs at now.
func stateOf(key *store.SigningKey, activeID string, now time.Time) State {
	switch {
	case expiredAt(key, now):
		return StateExpired
	case key.ID == activeID:
		return StateActive
	case now.Before(key.ActivatesAt) && !retiredAt(key, now):
		return StateNext
	default:
		// Retired, or superseded by a later key without a retirement time
		// yet, which the next maintenance pass adds.
		return StateRetired
	}
}

// plannedKey is a key row together with the writes a schedule plans for it.
type plannedKey struct {
	store.SigningKey

	// created marks a key that is not stored yet.
	created bool

	// activated marks a stored key whose activation time moved earlier.
	activated bool

	// changed marks a stored key with new times.
	changed bool

	// audit holds the events to record together with the key's write.
	audit []store.AuditEvent
}

// policy holds the settings that decide when keys rotate and retire.
type policy struct {
	// algorithm is the algorithm of new keys. An active key of another
	// algorithm is replaced as soon as its successor has been published
	// for publishAhead.
	algorithm string

	rotationPeriod time.Duration
	publishAhead   time.Duration

	// retainFor is how long a retired key stays published: token lifetime
	// plus the retirement margin.
	retainFor time.Duration
}

// schedule is the set of signing keys as read under the lock, plus the
// changes planned for it. It only plans: the Manager generates keys and
// writes the changes.
type schedule struct {
	policy
	now  time.Time
	keys []*plannedKey

	// rotation is the reason for the rotation the changes make, one of the
	// reason constants, or empty if they make none.
	rotation string
}

func newSchedule(rows []store.SigningKey, now time.Time, rules policy) *schedule {
	s := &schedule{policy: rules, now: now}
	for _, row := range rows {
		s.keys = append(s.keys, &plannedKey{SigningKey: row})
	}
	return s
}

// find returns the key with the given id, or nil.
func (s *schedule) find(kid string) *plannedKey {
	for _, key := range s.keys {
		if key.ID == kid {
			return key
		}
	}
	return nil
}

// active returns the key that signs at s.now, or nil.
func (s *schedule) active() *plannedKey {
	var active *plannedKey
	for _, key := range s.keys {
		if signsAt(&key.SigningKey, s.now) && (active == nil || activationOrder(&key.SigningKey, &active.SigningKey) > 0) {
			active = key
		}
	}
	return active
}

// upcoming returns the keys that will start signing after s.now, earliest
// first.
func (s *schedule) upcoming() []*plannedKey {
	var upcoming []*plannedKey
	for _, key := range s.keys {
		if mayStillSign(&key.SigningKey, s.now) && s.now.Before(key.ActivatesAt) {
			upcoming = append(upcoming, key)
		}
	}
	slices.SortFunc(upcoming, func(a, b *plannedKey) int { return activationOrder(&a.SigningKey, &b.SigningKey) })
	return upcoming
}

// add plans the creation of key.
func (s *schedule) add(key store.SigningKey, audit ...store.AuditEvent) {
	s.keys = append(s.keys, &plannedKey{SigningKey: key, created: true, audit: audit})
}

// immediateActivation returns the activation time for a key that replaces
// the active key at once: s.now, or one microsecond after the active key's
// activation if that is not before s.now, so the replacement still orders
// after it.
func (s *schedule) immediateActivation() time.Time {
	if active := s.active(); active != nil && !active.ActivatesAt.Before(s.now) {
		return active.ActivatesAt.Add(time.Microsecond)
	}
	return s.now
}

// activateNow plans for key to start signing at once, as immediateActivation
// defines it.
func (s *schedule) activateNow(key *plannedKey, audit ...store.AuditEvent) {
	key.ActivatesAt = s.immediateActivation()
	key.activated = true
	key.changed = true
	key.audit = append(key.audit, audit...)
}

// withdrawNow plans for key to stop signing and leave the JWKS at s.now.
func (s *schedule) withdrawNow(key *plannedKey, audit ...store.AuditEvent) {
	now := s.now
	key.RetiredAt = &now
	key.ExpiresAt = &now
	key.changed = true
	key.audit = append(key.audit, audit...)
}

// chain returns the keys that sign now or may sign later, in activation
// order.
func (s *schedule) chain() []*plannedKey {
	var chain []*plannedKey
	for _, key := range s.keys {
		if mayStillSign(&key.SigningKey, s.now) {
			chain = append(chain, key)
		}
	}
	slices.SortFunc(chain, func(a, b *plannedKey) int { return activationOrder(&a.SigningKey, &b.SigningKey) })
	return chain
}

// successorActivation returns when the successor of active should start
// signing, and whether it is time to create it: publishAhead before the
// end of active's rotation period, or at once when active uses another
// algorithm than the policy. The successor always gets publishAhead of
// publication, even if this pass runs late.
func (s *schedule) successorActivation(active *plannedKey) (time.Time, bool) {
	due := active.ActivatesAt.Add(s.rotationPeriod)
	if active.Algorithm != s.algorithm {
		due = s.now
	}
	if s.now.Before(due.Add(-s.publishAhead)) {
		return time.Time{}, false
	}
	if earliest := s.now.Add(s.publishAhead); due.Before(earliest) {
		return earliest, true
	}
	return due, true
}

// needsMaintenance reports whether a maintenance pass would change
// anything: no key signs, a successor is due, retirement times are not
// linked to activations, or expired keys wait for deletion.
func (s *schedule) needsMaintenance() bool {
	active := s.active()
	if active == nil {
		return true
	}
	if len(s.upcoming()) == 0 {
		if _, due := s.successorActivation(active); due {
			return true
		}
	}
	return !s.linked() || s.hasExpired()
}

// linkChain sets the retirement times that follow from activation times:
// every key in the chain retires when its successor activates and expires
// retainFor later, and the last key has no retirement time. This retires
// the old key at a rotation, and undoes a planned retirement whose
// successor was withdrawn.
func (s *schedule) linkChain() {
	chain := s.chain()
	for i, key := range chain {
		if i == len(chain)-1 {
			if key.RetiredAt != nil || key.ExpiresAt != nil {
				key.RetiredAt, key.ExpiresAt = nil, nil
				key.changed = true
			}
			continue
		}

		retire := chain[i+1].ActivatesAt
		if key.RetiredAt == nil || !key.RetiredAt.Equal(retire) {
			expire := retire.Add(s.retainFor)
			key.RetiredAt, key.ExpiresAt = &retire, &expire
			key.changed = true
		}
	}
}

// linked reports whether linkChain would change nothing.
func (s *schedule) linked() bool {
	chain := s.chain()
	for i, key := range chain {
		if i == len(chain)-1 {
			return key.RetiredAt == nil && key.ExpiresAt == nil
		}
		if key.RetiredAt == nil || !key.RetiredAt.Equal(chain[i+1].ActivatesAt) {
			return false
		}
	}
	return true
}

// hasExpired reports whether some key is expired at s.now and can be
// deleted.
func (s *schedule) hasExpired() bool {
	return slices.ContainsFunc(s.keys, func(key *plannedKey) bool {
		return key.ExpiresAt != nil && key.ExpiresAt.Before(s.now)
	})
}

// writes returns the keys to store, in a safe order: new keys first, then
// earlier activations, then the rest. If a write fails midway, a key that
// should sign is then already stored, and the next pass completes the
// retirements.
func (s *schedule) writes() []*plannedKey {
	var writes []*plannedKey
	for _, pass := range []func(*plannedKey) bool{
		func(key *plannedKey) bool { return key.created },
		func(key *plannedKey) bool { return !key.created && key.activated },
		func(key *plannedKey) bool { return !key.created && !key.activated && key.changed },
	} {
		for _, key := range s.keys {
			if pass(key) {
				writes = append(writes, key)
			}
		}
	}
	return writes
}
