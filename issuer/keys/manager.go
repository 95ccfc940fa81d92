// Package keys manages the issuer's token signing keys: it generates them,
// stores their private halves sealed under the key-encryption key, rotates
// them on a schedule, retires them on request, signs access tokens with the
// active key and renders the JWKS.
//
// A key's lifecycle is published (in the JWKS, not signing yet), active
// (signing), retired (no longer signing, still published until every token
// it signed has expired) and expired (removed). Replicas that share one
// store coordinate through the store's named lock, and each keeps an
// in-memory snapshot that the signing path reads without locking.
package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatepass/gatepass/issuer/keys/kek"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/verify"
)

// lockName is the store lock that serializes key changes across replicas.
const lockName = "signing-keys"

// missReloadInterval is the minimum time between reloads triggered by a
// lookup of an unknown key id, which callers control.
const missReloadInterval = 10 * time.Second

// Audit actors.
const (
	actorSystem   = "system"
	actorOperator = "operator"
)

// Audit actions.
const (
	actionCreated   = "signing_key.created"
	actionActivated = "signing_key.activated"
	actionRotated   = "signing_key.rotated"
	actionRetired   = "signing_key.retired"
)

var (
	// ErrNoSigningKey is returned by Sign when no key is active, which
	// happens only before Start succeeded.
	ErrNoSigningKey = errors.New("no signing key is active")

	// ErrKeyNotFound is returned by Retire for a key id that is not
	// published.
	ErrKeyNotFound = errors.New("signing key not found")
)

// Manager creates, rotates and retires signing keys in a store and signs
// tokens with the active one. It is safe for concurrent use.
type Manager struct {
	store   store.Store
	kek     *kek.Key
	config  Config
	policy  policy
	logger  *slog.Logger
	metrics *metrics

	// snapshot is the current in-memory view of the keys.
	snapshot atomic.Pointer[snapshot]

	// reloadMu serializes reloads, so that a snapshot from an older read of
	// the store never replaces one from a newer read. It guards builder.
	reloadMu sync.Mutex
	builder  snapshotBuilder

	// missMu guards lastMissReload.
	missMu         sync.Mutex
	lastMissReload time.Time
}

var _ verify.KeySource = (*Manager)(nil)

// KeyInfo describes a stored signing key for operators.
type KeyInfo struct {
	ID          string
	Algorithm   string
	State       State
	CreatedAt   time.Time
	ActivatesAt time.Time
	RetiredAt   *time.Time
	ExpiresAt   *time.Time
}

// NewManager returns a Manager over keys in st, sealed under encryptionKey.
// It does no I/O: call Start before signing, then run Run in the
// background.
func NewManager(st store.Store, encryptionKey *kek.Key, config Config) (*Manager, error) {
	if st == nil {
		return nil, errors.New("signing key manager needs a store")
	}
	if encryptionKey == nil {
		return nil, errors.New("signing key manager needs a key-encryption key")
	}
	config, err := config.withDefaults()
	if err != nil {
		return nil, err
	}
	metrics, err := newMetrics(config.Registerer)
	if err != nil {
		return nil, err
	}

	m := &Manager{
		store:   st,
		kek:     encryptionKey,
		config:  config,
		logger:  config.Logger,
		metrics: metrics,
		policy: policy{
			algorithm:      config.Algorithm,
			rotationPeriod: config.RotationPeriod,
			publishAhead:   config.PublishAhead,
			retainFor:      config.TokenTTL + config.RetirementMargin,
		},
	}
	m.builder = snapshotBuilder{
		open: func(row store.SigningKey, public *publicKey) (*signingKey, error) {
			return openSigningKey(encryptionKey, row, public)
		},
		materials: map[string]*keyMaterial{},
	}
	m.snapshot.Store(emptySnapshot())
	return m, nil
}

// Start makes sure a key is active, publishes a successor when one is due,
// and loads the keys. On the first start it creates a key that signs at
// once, because no verifier can have cached a JWKS yet.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.update(ctx, nil); err != nil {
		return fmt.Errorf("preparing signing keys: %w", err)
	}
	if m.snapshot.Load().signer(m.config.Now()) == nil {
		return fmt.Errorf("preparing signing keys: %w after maintenance", ErrNoSigningKey)
	}
	return nil
}

// Run refreshes the keys every RefreshInterval until ctx is done. It logs
// and counts failed refreshes and keeps signing with the keys loaded
// before, which switch to their successors at the planned times.
func (m *Manager) Run(ctx context.Context) {
	ticker := time.NewTicker(m.config.RefreshInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		if err := m.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.metrics.refreshFailures.Inc()
			m.logger.Error("refreshing signing keys failed; signing continues with the keys loaded before", "error", err)
		}
	}
}

// Refresh re-reads the keys from the store and, when a rotation is due, a
// key must be retired or deleted, or no key is active, runs a maintenance
// pass under the store lock.
func (m *Manager) Refresh(ctx context.Context) error {
	due, err := m.reloadUnlessMaintenanceDue(ctx)
	if err != nil || !due {
		return err
	}
	return m.update(ctx, nil)
}

// reloadUnlessMaintenanceDue reads the keys and installs them, unless they
// need a maintenance pass, which it reports instead.
func (m *Manager) reloadUnlessMaintenanceDue(ctx context.Context) (bool, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()

	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("listing signing keys: %w", err)
	}
	if newSchedule(rows, m.now(), m.policy).needsMaintenance() {
		return true, nil
	}
	return false, m.install(rows)
}

// Rotate makes a new key sign now. It promotes the published next key if
// there is one, so verifiers already know it. Otherwise it creates a key
// that signs at once and logs a warning, because verifiers that cached the
// JWKS must fetch it again when they first see the new kid. The old key
// stays published until its tokens have expired.
func (m *Manager) Rotate(ctx context.Context) error {
	err := m.update(ctx, func(s *schedule) error {
		replaced := "no active key"
		if old := s.active(); old != nil {
			replaced = old.ID
		}
		s.rotation = reasonManual

		if upcoming := s.upcoming(); len(upcoming) > 0 {
			next := upcoming[0]
			s.activateNow(next, auditEvent(s.now, actorOperator, actionRotated, next.ID, "signs from now on, replacing "+replaced))
			return nil
		}

		key, err := m.generate(s.now, s.immediateActivation())
		if err != nil {
			return err
		}
		s.add(key, auditEvent(s.now, actorOperator, actionRotated, key.ID, "created and signs at once without being published ahead, replacing "+replaced))
		m.logger.Warn("rotating to a signing key that was not published ahead; verifiers that cached the JWKS must fetch it again", "kid", key.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rotating signing key: %w", err)
	}
	return nil
}

// Retire withdraws the key kid in an emergency: it stops signing and leaves
// the JWKS at once, so tokens it signed stop verifying here at once and at
// other replicas and verifiers when they next refresh. If it was the active
// key, the next key is promoted or, without one, a new key signs at once.
func (m *Manager) Retire(ctx context.Context, kid string) error {
	err := m.update(ctx, func(s *schedule) error {
		key := s.find(kid)
		if key == nil || expiredAt(&key.SigningKey, s.now) {
			return fmt.Errorf("%w: no published key has id %q; `issuer keys list` shows the published keys", ErrKeyNotFound, kid)
		}

		wasActive := s.active() == key
		s.withdrawNow(key, auditEvent(s.now, actorOperator, actionRetired, kid, "retired in an emergency: removed from the JWKS, tokens it signed no longer verify"))
		if !wasActive {
			return nil
		}
		s.rotation = reasonEmergency

		// The withdrawn key no longer counts as active, so the replacement
		// activates at s.now exactly and no instant is left without a key.
		if upcoming := s.upcoming(); len(upcoming) > 0 {
			next := upcoming[0]
			s.activateNow(next, auditEvent(s.now, actorOperator, actionActivated, next.ID, "signs from now on, replacing the emergency-retired key "+kid))
			return nil
		}
		created, err := m.generate(s.now, s.now)
		if err != nil {
			return err
		}
		s.add(created, auditEvent(s.now, actorOperator, actionCreated, created.ID, "created and signs at once, replacing the emergency-retired key "+kid))
		return nil
	})
	if err != nil {
		return fmt.Errorf("retiring signing key %q: %w", kid, err)
	}

	m.logger.Warn("retired signing key in an emergency; tokens it signed no longer verify", "kid", kid)
	return nil
}

// List returns every stored key, oldest first, with its state now. It reads
// the store, so it works without Start.
func (m *Manager) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing signing keys: %w", err)
	}

	s := newSchedule(rows, m.now(), m.policy)
	activeID := ""
	if active := s.active(); active != nil {
		activeID = active.ID
	}

	infos := make([]KeyInfo, 0, len(rows))
	for _, row := range rows {
		infos = append(infos, KeyInfo{
			ID:          row.ID,
			Algorithm:   row.Algorithm,
			State:       stateOf(&row, activeID, s.now),
			CreatedAt:   row.CreatedAt,
			ActivatesAt: row.ActivatesAt,
			RetiredAt:   row.RetiredAt,
			ExpiresAt:   row.ExpiresAt,
		})
	}
	return infos, nil
}

// JWKS returns the JSON Web Key Set of every published key (next, active,
// and retired but not expired) as of the last load, and its strong ETag,
// quoted for the ETag header. The body is shared: callers must not modify
// it.
func (m *Manager) JWKS() (body []byte, etag string) {
	current := m.snapshot.Load()
	return current.jwks, current.etag
}

// Key returns the published key kid, implementing verify.KeySource for
// in-process verification. An unknown kid triggers a reload from the store,
// at most once per missReloadInterval (10 seconds), so a key that another replica created is
// found before the next refresh.
func (m *Manager) Key(ctx context.Context, kid string) (verify.Key, error) {
	now := m.config.Now()
	if key, ok := m.snapshot.Load().lookup(kid, now); ok {
		return key, nil
	}

	if err := m.reloadAfterMiss(ctx, now); err != nil {
		return verify.Key{}, fmt.Errorf("%w: reloading signing keys for unknown kid: %w", verify.ErrKeysUnavailable, err)
	}
	if key, ok := m.snapshot.Load().lookup(kid, now); ok {
		return key, nil
	}
	return verify.Key{}, verify.ErrKeyNotFound
}

// reloadAfterMiss reloads the keys unless that happened less than
// missReloadInterval before now.
func (m *Manager) reloadAfterMiss(ctx context.Context, now time.Time) error {
	m.missMu.Lock()
	defer m.missMu.Unlock()

	if !m.lastMissReload.IsZero() && now.Sub(m.lastMissReload) < missReloadInterval {
		return nil
	}
	m.lastMissReload = now
	return m.reload(ctx)
}

// update re-reads the keys under the store lock, applies change (if not
// nil), runs the maintenance pass, writes the result, deletes expired keys
// and reloads. Holding the lock from the read to the last write makes
// replicas that run it together act once. It logs every audit event it
// stored and counts the rotation, if any.
func (m *Manager) update(ctx context.Context, change func(*schedule) error) error {
	var rotation string
	err := m.store.WithLock(ctx, lockName, func(ctx context.Context) error {
		rows, err := m.store.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("listing signing keys: %w", err)
		}

		s := newSchedule(rows, m.now(), m.policy)
		if change != nil {
			if err := change(s); err != nil {
				return err
			}
		}
		if err := m.maintain(s); err != nil {
			return err
		}
		if err := m.write(ctx, s); err != nil {
			return err
		}
		rotation = s.rotation

		if s.hasExpired() {
			deleted, err := m.store.DeleteExpiredSigningKeys(ctx, s.now)
			if err != nil {
				return fmt.Errorf("deleting expired signing keys: %w", err)
			}
			m.logger.Info("deleted expired signing keys", "count", deleted)
		}
		return nil
	})
	if err != nil {
		return err
	}

	if rotation != "" {
		m.metrics.rotations.WithLabelValues(rotation).Inc()
	}
	return m.reload(ctx)
}

// maintain plans the routine changes: a key that signs when none does, a
// published successor when the rotation is due, and retirement times that
// follow from activation times.
func (m *Manager) maintain(s *schedule) error {
	active := s.active()
	if active == nil {
		if upcoming := s.upcoming(); len(upcoming) > 0 {
			active = upcoming[0]
			s.activateNow(active, auditEvent(s.now, actorSystem, actionActivated, active.ID, "activated early because no other key could sign"))
			m.logger.Warn("no signing key is active, so the next key signs early", "kid", active.ID)
		} else {
			key, err := m.generate(s.now, s.now)
			if err != nil {
				return err
			}
			s.add(key, auditEvent(s.now, actorSystem, actionCreated, key.ID, "created and signs at once because no other key could sign"))
			active = s.active()
		}
	}

	if len(s.upcoming()) == 0 {
		if activatesAt, due := s.successorActivation(active); due {
			key, err := m.generate(s.now, activatesAt)
			if err != nil {
				return err
			}
			detail := fmt.Sprintf("%s key published now, signs from %s, replacing %s", key.Algorithm, activatesAt.Format(time.RFC3339), active.ID)
			s.add(key, auditEvent(s.now, actorSystem, actionCreated, key.ID, detail))
			s.rotation = reasonScheduled
		}
	}

	s.linkChain()
	return nil
}

// write stores the keys s created or changed and logs their audit events.
func (m *Manager) write(ctx context.Context, s *schedule) error {
	for _, key := range s.writes() {
		if key.created {
			if err := m.store.CreateSigningKey(ctx, key.SigningKey, key.audit...); err != nil {
				return fmt.Errorf("storing new signing key %s: %w", key.ID, err)
			}
		} else if err := m.store.UpdateSigningKeyTimes(ctx, key.SigningKey, key.audit...); err != nil {
			return fmt.Errorf("updating times of signing key %s: %w", key.ID, err)
		}

		for _, event := range key.audit {
			m.logger.Info("signing key changed", "action", event.Action, "actor", event.Actor, "kid", key.ID, "detail", event.Detail)
		}
	}
	return nil
}

// reload reads the keys from the store and installs them.
func (m *Manager) reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()

	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing signing keys: %w", err)
	}
	return m.install(rows)
}

// install builds a snapshot of rows and makes it current. The caller holds
// reloadMu.
func (m *Manager) install(rows []store.SigningKey) error {
	now := m.now()
	previous := m.snapshot.Load()
	next, err := m.builder.build(rows, now, previous)
	if err != nil {
		return fmt.Errorf("loading signing keys: %w", err)
	}
	m.snapshot.Store(next)
	m.logSignerChange(previous, next, now)
	return nil
}

// logSignerChange logs when the key that signs now differs between two
// snapshots, such as after another replica or the keys command rotated.
func (m *Manager) logSignerChange(previous, next *snapshot, now time.Time) {
	if previous == nil {
		return
	}
	before, after := previous.signer(now), next.signer(now)
	if before == nil || after == nil || before.id == after.id {
		return
	}
	m.logger.Info("signing with another key after reloading keys", "previous_kid", before.id, "kid", after.id)
}

// generate creates a key of the configured algorithm.
func (m *Manager) generate(createdAt, activatesAt time.Time) (store.SigningKey, error) {
	return generateKey(m.kek, m.config.Algorithm, createdAt, activatesAt)
}

// now returns the current time as the store keeps it: UTC, microseconds.
func (m *Manager) now() time.Time {
	return m.config.Now().UTC().Truncate(time.Microsecond)
}

// auditEvent returns an audit event about the key kid.
func auditEvent(at time.Time, actor, action, kid, detail string) store.AuditEvent {
	return store.AuditEvent{
		Time:   at,
		Actor:  actor,
		Action: action,
		Detail: fmt.Sprintf("signing key %s: %s", kid, detail),
	}
}
