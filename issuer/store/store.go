// Package store defines the issuer's persistent state and the Store
// interface that every storage backend implements.
//
// Two backends exist: issuer/store/postgres for production, where many
// issuer replicas share one database, and issuer/store/sqlite, the embedded
// single-node default. Both pass the conformance suite in
// issuer/store/storetest.
//
// All times are stored in UTC with microsecond precision. Every method that
// changes state commits in one transaction before it returns, together with
// the audit events passed to it.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend. Backends wrap them with context, so
// callers test them with errors.Is.
var (
	// ErrNotFound means the addressed row does not exist, or is not visible
	// to the caller (such as a credential of another client).
	ErrNotFound = errors.New("not found")

	// ErrConflict means a row with the same key already exists.
	ErrConflict = errors.New("already exists")

	// ErrRefreshReused means a refresh token was presented again after its
	// grace period. The backend has revoked the token's whole family and
	// recorded an audit event before returning it.
	ErrRefreshReused = errors.New("refresh token reused")

	// ErrRefreshInactive means the refresh token was revoked, has expired,
	// or belongs to a credential or client that is no longer active.
	ErrRefreshInactive = errors.New("refresh token inactive")
)

// Client is an OAuth client, the subject of the tokens its credentials obtain.
type Client struct {
	ID        string
	Disabled  bool
	CreatedAt time.Time
}

// Credential is a client secret, stored only as its hash.
type Credential struct {
	ID       string
	ClientID string

	// Type is a label chosen at creation, "interactive" by default.
	Type string

	// SecretHash is the keyed hash of the secret; the secret itself is never
	// stored.
	SecretHash []byte

	// Scopes are the scopes tokens from this credential may carry.
	Scopes []string

	// Permissions are carried verbatim into the tokens.
	Permissions [][]string

	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time

	// ClientDisabled reports whether the owning client is disabled. It is
	// filled on reads and ignored on writes.
	ClientDisabled bool
}

// Active reports whether the credential may be used at now: not revoked, not
// expired, and its client not disabled.
func (c *Credential) Active(now time.Time) bool {
	if c.RevokedAt != nil || c.ClientDisabled {
		return false
	}
	return c.ExpiresAt == nil || now.Before(*c.ExpiresAt)
}

// RefreshToken is a refresh token, stored only as its hash. Tokens that
// replace one another form a family rooted at the token the client
// credentials grant issued.
type RefreshToken struct {
	// Hash is the keyed hash of the token and its primary key.
	Hash []byte

	// FamilyID is shared by every token of a rotation chain.
	FamilyID string

	// ParentHash is the hash of the token this one replaced, nil for the
	// first of a family.
	ParentHash []byte

	CredentialID string
	ClientID     string
	Scopes       []string

	// SealedAccessToken is the access token issued together with this
	// refresh token, encrypted, so that concurrent refreshes inside the grace
	// period receive the same pair.
	SealedAccessToken []byte

	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Rotation is the outcome of a successful RotateRefreshToken.
type Rotation struct {
	// Token is the replacement: the child passed in, or the child stored by
	// an earlier rotation of the same parent inside the grace period.
	Token RefreshToken

	// Replayed reports whether Token came from an earlier rotation.
	Replayed bool
}

// SigningKey is a key pair for signing access tokens. Its lifecycle:
// published (in the JWKS, not yet signing) from CreatedAt, signing from
// ActivatesAt, retired at RetiredAt, and removed from the JWKS after
// ExpiresAt, when every token it signed has expired.
type SigningKey struct {
	ID        string
	Algorithm string

	// SealedPrivateKey is the PKCS #8 private key encrypted under the
	// key-encryption key.
	SealedPrivateKey []byte

	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK []byte

	CreatedAt   time.Time
	ActivatesAt time.Time
	RetiredAt   *time.Time
	ExpiresAt   *time.Time
}

// AuditEvent is a security-relevant action, kept for operators.
type AuditEvent struct {
	ID   int64
	Time time.Time

	// Actor is who acted, such as "admin-token", "client:svc-a" or "system".
	Actor string

	// Action names the event, such as "credential.created".
	Action string

	ClientID     string
	CredentialID string

	// Detail is free text for operators. It never holds a secret.
	Detail string
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	ClientID string
	Action   string
	// Limit caps the number of events, newest first; zero means 100.
	Limit int
}

// CreateCredentialOptions modify CreateCredential.
type CreateCredentialOptions struct {
	// RegisterClient creates the client if it does not exist yet. Without
	// it, an unknown client is ErrNotFound.
	RegisterClient bool
}

// Store is the issuer's storage. Implementations are safe for concurrent use.
type Store interface {
	// Ping checks that storage responds.
	Ping(ctx context.Context) error

	// Close releases connections.
	Close() error

	// CreateClient stores a new client; ErrConflict if the id exists.
	CreateClient(ctx context.Context, client Client, audit ...AuditEvent) error

	// GetClient returns a client or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)

	// ListClients returns every client ordered by id.
	ListClients(ctx context.Context) ([]Client, error)

	// SetClientDisabled disables or enables a client; ErrNotFound if unknown.
	SetClientDisabled(ctx context.Context, id string, disabled bool, audit ...AuditEvent) error

	// CreateCredential stores a credential; ErrConflict if its id exists,
	// ErrNotFound if its client does not exist and opts.RegisterClient is
	// false.
	CreateCredential(ctx context.Context, credential Credential, opts CreateCredentialOptions, audit ...AuditEvent) error

	// GetCredential returns a credential, revoked and expired ones included,
	// with ClientDisabled filled; ErrNotFound if unknown.
	GetCredential(ctx context.Context, id string) (Credential, error)

	// ListActiveCredentials returns the credentials of clientID that are
	// neither revoked nor expired at now, oldest first. An unknown client
	// is ErrNotFound; a known one without credentials is an empty list.
	ListActiveCredentials(ctx context.Context, clientID string, now time.Time) ([]Credential, error)

	// RevokeCredential revokes the credential id of clientID and every
	// refresh token issued from it. ErrNotFound if the credential does not
	// exist, belongs to another client or is already revoked.
	RevokeCredential(ctx context.Context, clientID, id string, at time.Time, audit ...AuditEvent) error

	// TouchCredentials sets last_used_at of each credential in lastUsed to
	// the given time unless it already holds a later one. Unknown ids are
	// skipped.
	TouchCredentials(ctx context.Context, lastUsed map[string]time.Time) error

	// CreateRefreshToken stores the first token of a new family;
	// ErrNotFound unless its credential exists, is not revoked and belongs
	// to its client.
	CreateRefreshToken(ctx context.Context, token RefreshToken) error

	// GetRefreshToken returns the refresh token with the given hash, spent,
	// revoked and expired ones included; ErrNotFound if unknown.
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)

	// RotateRefreshToken spends the token with hash parentHash at now and
	// stores child as its replacement, copying the family from the parent.
	// If the parent was already spent less than grace ago, it returns the
	// stored replacement with Replayed set instead. If it was spent longer
	// ago, it revokes the family, records a "refresh.reuse_detected" audit
	// event, and returns ErrRefreshReused. It returns ErrNotFound for an
	// unknown hash and ErrRefreshInactive when the parent is revoked or
	// expired, or its credential or client is no longer active.
	RotateRefreshToken(ctx context.Context, parentHash []byte, child RefreshToken, now time.Time, grace time.Duration) (Rotation, error)

	// ListSigningKeys returns every signing key that has not been deleted,
	// oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)

	// CreateSigningKey stores a new key; ErrConflict if its id exists.
	CreateSigningKey(ctx context.Context, key SigningKey, audit ...AuditEvent) error

	// UpdateSigningKeyTimes sets the activation, retirement and expiry times
	// of a key; ErrNotFound if unknown.
	UpdateSigningKeyTimes(ctx context.Context, key SigningKey, audit ...AuditEvent) error

	// DeleteExpiredSigningKeys removes keys whose ExpiresAt is before now
	// and returns how many it removed.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error)

	// WithLock runs fn while holding the named lock, which excludes every
	// other holder of the same name on the same database: a Postgres
	// advisory lock, or a process-wide mutex for SQLite.
	WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error

	// AppendAudit stores audit events outside any other change.
	AppendAudit(ctx context.Context, events ...AuditEvent) error

	// ListAudit returns audit events matching filter, newest first.
	ListAudit(ctx context.Context, filter AuditFilter) ([]AuditEvent, error)
}
