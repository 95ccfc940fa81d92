package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/issuer/api"
	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/scope"
)

// operatorActor names the command line in audit events.
const operatorActor = "operator-cli"

// NewCredential describes a credential to create from the command line.
type NewCredential struct {
	ClientID    string
	Type        string
	Scopes      []string
	Permissions [][]string

	// ExpiresIn is the lifetime; zero means no expiry.
	ExpiresIn time.Duration

	// RegisterClient creates the client if it does not exist.
	RegisterClient bool

	// Actor names who creates the credential in the audit event; empty
	// means the command line.
	Actor string
}

func (n NewCredential) actor() string {
	if n.Actor == "" {
		return operatorActor
	}
	return n.Actor
}

// credentialLifetime checks a requested lifetime and applies the
// configured cap, which also applies to "no expiry" (zero).
func (i *Issuer) credentialLifetime(requested time.Duration) (time.Duration, error) {
	longest := time.Duration(api.MaxCredentialDays) * 24 * time.Hour
	if requested < 0 || requested > longest {
		return 0, fmt.Errorf("invalid credential lifetime %v: use 0 for no expiry or a positive duration up to %d days", requested, api.MaxCredentialDays)
	}
	if days := i.Config.MaxCredentialDays; days > 0 {
		capped := time.Duration(days) * 24 * time.Hour
		if requested == 0 || requested > capped {
			return capped, nil
		}
	}
	return requested, nil
}

// CreatedCredential is a new credential with its secret, shown once.
type CreatedCredential struct {
	ClientID     string
	CredentialID string
	Secret       string
	ExpiresAt    *time.Time
}

// CreateClient registers a client.
func (i *Issuer) CreateClient(ctx context.Context, clientID string) error {
	if !api.ValidClientID(clientID) {
		return fmt.Errorf("invalid client id %q: use 1 to 64 letters, digits, '.', '_', '-' or '@'", clientID)
	}
	now := time.Now().UTC()
	event := store.AuditEvent{Time: now, Actor: operatorActor, Action: "client.created", ClientID: clientID}
	err := i.Store.CreateClient(ctx, store.Client{ID: clientID, CreatedAt: now}, event)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("client %q already exists", clientID)
	}
	return err
}

// SetClientDisabled disables or re-enables a client. A disabled client's
// credentials stop working at /token and /me.
func (i *Issuer) SetClientDisabled(ctx context.Context, clientID string, disabled bool) error {
	action := "client.enabled"
	if disabled {
		action = "client.disabled"
	}
	event := store.AuditEvent{Time: time.Now().UTC(), Actor: operatorActor, Action: action, ClientID: clientID}
	err := i.Store.SetClientDisabled(ctx, clientID, disabled, event)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("client %q not found; list clients with: issuer clients list", clientID)
	}
	return err
}

// CreateCredential creates a credential and returns its secret.
func (i *Issuer) CreateCredential(ctx context.Context, request NewCredential) (CreatedCredential, error) {
	if !api.ValidClientID(request.ClientID) {
		return CreatedCredential{}, fmt.Errorf("invalid client id %q: use 1 to 64 letters, digits, '.', '_', '-' or '@'", request.ClientID)
	}
	if !api.ValidCredentialType(request.Type) {
		return CreatedCredential{}, fmt.Errorf("invalid credential type %q: use 1 to 32 letters, digits, '.', '_' or '-'", request.Type)
	}
	scopes, err := scope.FromList(request.Scopes)
	if err != nil {
		return CreatedCredential{}, fmt.Errorf("scopes: %w", err)
	}
	if err := api.CheckTokenBudget(scopes, request.Permissions); err != nil {
		return CreatedCredential{}, err
	}
	expiresIn, err := i.credentialLifetime(request.ExpiresIn)
	if err != nil {
		return CreatedCredential{}, err
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	credentialID := secret.NewCredentialID()
	value, err := i.Secrets.NewCredentialSecret(credentialID)
	if err != nil {
		return CreatedCredential{}, err
	}
	credential := store.Credential{
		ID: credentialID, ClientID: request.ClientID, Type: request.Type,
		SecretHash: i.Secrets.HashCredentialSecret(value), Scopes: scopes,
		Permissions: request.Permissions, CreatedAt: now,
	}
	if credential.Permissions == nil {
		credential.Permissions = [][]string{}
	}
	if expiresIn > 0 {
		expiresAt := now.Add(expiresIn)
		credential.ExpiresAt = &expiresAt
	}

	event := store.AuditEvent{Time: now, Actor: request.actor(), Action: "credential.created", ClientID: request.ClientID, CredentialID: credentialID,
		Detail: "type=" + request.Type + " scopes=" + scopes.String()}
	err = i.Store.CreateCredential(ctx, credential, store.CreateCredentialOptions{RegisterClient: request.RegisterClient}, event)
	if errors.Is(err, store.ErrNotFound) {
		return CreatedCredential{}, fmt.Errorf("client %q not found; create it with: issuer clients create %s", request.ClientID, request.ClientID)
	}
	if err != nil {
		return CreatedCredential{}, err
	}
	return CreatedCredential{ClientID: request.ClientID, CredentialID: credentialID, Secret: value, ExpiresAt: credential.ExpiresAt}, nil
}

// Bootstrap creates a first client and credential when storage holds no
// client at all, so a fresh embedded install can be tried at once. It
// returns nil and no error when clients already exist.
func (i *Issuer) Bootstrap(ctx context.Context) (*CreatedCredential, error) {
	clients, err := i.Store.ListClients(ctx)
	if err != nil || len(clients) > 0 {
		return nil, err
	}
	created, err := i.CreateCredential(ctx, NewCredential{
		ClientID:       "demo-client",
		Type:           "interactive",
		Scopes:         []string{api.OfflineAccessScope, api.ScopeCredentialsRead, api.ScopeCredentialsWrite},
		RegisterClient: true,
		ExpiresIn:      90 * 24 * time.Hour,
		Actor:          "system:first-start",
	})
	if err != nil {
		return nil, fmt.Errorf("creating the first client: %w", err)
	}
	return &created, nil
}
