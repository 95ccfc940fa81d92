package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

func testAudit(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("append and list", func(t *testing.T) {
		s, ctx := open(t, newStore)
		got := mustListAudit(t, s, store.AuditFilter{})
		checkEqual(t, "events of an empty store", got, []store.AuditEvent{})

		first := newAuditEvent("credential.created", "svc-a", now)
		first.CredentialID = "cred-1"
		second := newAuditEvent("client.disabled", "svc-b", now.Add(time.Second))
		second.Actor = "client:svc-b"
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, first, second), nil)
		checkErr(t, "AppendAudit with no events", s.AppendAudit(ctx), nil)

		got = mustListAudit(t, s, store.AuditFilter{})
		checkEqual(t, "events", withoutIDs(t, got), []store.AuditEvent{second, first})
	})

	t.Run("zero time is the time of the call", func(t *testing.T) {
		s, ctx := open(t, newStore)
		event := newAuditEvent("client.created", "svc-a", time.Time{})
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, event), nil)

		got := mustListAudit(t, s, store.AuditFilter{})
		if len(got) != 1 {
			t.Fatalf("ListAudit returned %d events, want 1", len(got))
		}
		if got[0].Time.IsZero() {
			t.Error("an event appended with a zero time was stored with a zero time")
		}
	})

	t.Run("ties in time are newest first", func(t *testing.T) {
		s, ctx := open(t, newStore)
		var want []store.AuditEvent
		for i := range 3 {
			event := newAuditEvent(fmt.Sprintf("step.%d", i), "svc-a", now)
			checkErr(t, "AppendAudit", s.AppendAudit(ctx, event), nil)
			want = append([]store.AuditEvent{event}, want...)
		}
		got := mustListAudit(t, s, store.AuditFilter{})
		checkEqual(t, "events", withoutIDs(t, got), want)
	})

	t.Run("filter and limit", func(t *testing.T) {
		s, ctx := open(t, newStore)
		events := []store.AuditEvent{
			newAuditEvent("credential.created", "svc-a", now),
			newAuditEvent("credential.created", "svc-b", now.Add(1*time.Second)),
			newAuditEvent("credential.revoked", "svc-a", now.Add(2*time.Second)),
			newAuditEvent("credential.created", "svc-a", now.Add(3*time.Second)),
		}
		// Appended out of time order, so that insertion order cannot pass
		// for newest-first order.
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, events[2], events[0], events[3], events[1]), nil)

		tests := []struct {
			name   string
			filter store.AuditFilter
			want   []store.AuditEvent
		}{
			{name: "everything", filter: store.AuditFilter{}, want: []store.AuditEvent{events[3], events[2], events[1], events[0]}},
			{name: "client", filter: store.AuditFilter{ClientID: "svc-a"}, want: []store.AuditEvent{events[3], events[2], events[0]}},
			{name: "action", filter: store.AuditFilter{Action: "credential.created"}, want: []store.AuditEvent{events[3], events[1], events[0]}},
			{name: "client and action", filter: store.AuditFilter{ClientID: "svc-a", Action: "credential.created"}, want: []store.AuditEvent{events[3], events[0]}},
			{name: "limit", filter: store.AuditFilter{Limit: 2}, want: []store.AuditEvent{events[3], events[2]}},
			{name: "client and limit", filter: store.AuditFilter{ClientID: "svc-a", Limit: 1}, want: []store.AuditEvent{events[3]}},
			{name: "no match", filter: store.AuditFilter{ClientID: "svc-c"}, want: []store.AuditEvent{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkEqual(t, "events", withoutIDs(t, mustListAudit(t, s, tt.filter)), tt.want)
			})
		}
	})

	t.Run("default limit is 100", func(t *testing.T) {
		s, ctx := open(t, newStore)
		events := make([]store.AuditEvent, 101)
		for i := range events {
			events[i] = newAuditEvent("token.issued", "svc-a", now.Add(time.Duration(i)*time.Second))
		}
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, events...), nil)

		got := mustListAudit(t, s, store.AuditFilter{})
		if len(got) != 100 {
			t.Fatalf("ListAudit without a limit returned %d events, want 100", len(got))
		}
		checkEqual(t, "newest event", withoutIDs(t, got[:1]), events[100:])
		checkEqual(t, "oldest event listed", withoutIDs(t, got[99:]), events[1:2])
	})

	t.Run("stored with the change", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
		checkErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, newSigningKey("key-1", now)), nil)

		tests := []struct {
			name string
			// change calls the method under test with events and returns
			// its error, which is want.
			change func(ctx context.Context, events ...store.AuditEvent) error
			want   error
		}{
			{name: "CreateClient", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateClient(ctx, newClient("svc-new"), events...)
			}},
			{name: "CreateClient conflict", want: store.ErrConflict, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateClient(ctx, newClient("svc-a"), events...)
			}},
			{name: "SetClientDisabled", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.SetClientDisabled(ctx, "svc-new", true, events...)
			}},
			{name: "SetClientDisabled not found", want: store.ErrNotFound, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.SetClientDisabled(ctx, "missing", true, events...)
			}},
			{name: "CreateCredential", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateCredential(ctx, newCredential("cred-2", "svc-a"), store.CreateCredentialOptions{}, events...)
			}},
			{name: "CreateCredential registering a client", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateCredential(ctx, newCredential("cred-3", "svc-other"), store.CreateCredentialOptions{RegisterClient: true}, events...)
			}},
			{name: "CreateCredential conflict", want: store.ErrConflict, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateCredential(ctx, newCredential("cred-1", "svc-a"), store.CreateCredentialOptions{}, events...)
			}},
			{name: "CreateCredential not found", want: store.ErrNotFound, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateCredential(ctx, newCredential("cred-4", "missing"), store.CreateCredentialOptions{}, events...)
			}},
			{name: "RevokeCredential", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.RevokeCredential(ctx, "svc-a", "cred-1", now, events...)
			}},
			{name: "RevokeCredential not found", want: store.ErrNotFound, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.RevokeCredential(ctx, "svc-a", "cred-1", now, events...)
			}},
			{name: "CreateSigningKey", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateSigningKey(ctx, newSigningKey("key-2", now), events...)
			}},
			{name: "CreateSigningKey conflict", want: store.ErrConflict, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.CreateSigningKey(ctx, newSigningKey("key-1", now), events...)
			}},
			{name: "UpdateSigningKeyTimes", change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.UpdateSigningKeyTimes(ctx, newSigningKey("key-1", now), events...)
			}},
			{name: "UpdateSigningKeyTimes not found", want: store.ErrNotFound, change: func(ctx context.Context, events ...store.AuditEvent) error {
				return s.UpdateSigningKeyTimes(ctx, newSigningKey("missing", now), events...)
			}},
		}
		// The subtests share one store and run in order: later cases rely
		// on the rows earlier ones created.
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				first := newAuditEvent("test."+tt.name, "svc-a", now)
				second := newAuditEvent("test."+tt.name, "svc-a", now.Add(time.Second))
				second.Actor = "system"
				err := tt.change(t.Context(), first, second)
				checkErr(t, tt.name, err, tt.want)

				want := []store.AuditEvent{second, first}
				if tt.want != nil {
					want = []store.AuditEvent{}
				}
				got := mustListAudit(t, s, store.AuditFilter{Action: first.Action})
				checkEqual(t, "events stored by "+tt.name, withoutIDs(t, got), want)
			})
		}
	})
}

// withoutIDs checks that every event has a positive, distinct ID and
// returns copies with ID zero, to compare with events before they were
// stored.
func withoutIDs(t *testing.T, events []store.AuditEvent) []store.AuditEvent {
	t.Helper()
	seen := make(map[int64]bool, len(events))
	out := make([]store.AuditEvent, len(events))
	for i, event := range events {
		if event.ID <= 0 || seen[event.ID] {
			t.Errorf("event %d has ID %d, want a positive ID used once", i, event.ID)
		}
		seen[event.ID] = true
		event.ID = 0
		out[i] = event
	}
	return out
}
