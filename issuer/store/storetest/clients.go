package storetest

import (
	"testing"

	"github.com/gatepass/gatepass/issuer/store"
)

func testClients(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("create and get", func(t *testing.T) {
		s, ctx := open(t, newStore)
		for _, want := range []store.Client{newClient("svc-a"), {ID: "svc-b", Disabled: true, CreatedAt: now}} {
			if err := s.CreateClient(ctx, want); err != nil {
				t.Fatalf("CreateClient(%q) failed: %v", want.ID, err)
			}
			got, err := s.GetClient(ctx, want.ID)
			if err != nil {
				t.Fatalf("GetClient(%q) failed: %v", want.ID, err)
			}
			checkEqual(t, "client", got, want)
		}
	})

	t.Run("create existing id is conflict", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateClient(t, s, newClient("svc-a"))
		err := s.CreateClient(ctx, store.Client{ID: "svc-a", Disabled: true, CreatedAt: now})
		checkErr(t, "CreateClient of an existing id", err, store.ErrConflict)

		got, err := s.GetClient(ctx, "svc-a")
		checkErr(t, "GetClient", err, nil)
		checkEqual(t, "client after the conflict", got, newClient("svc-a"))
	})

	t.Run("get unknown is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, err := s.GetClient(ctx, "missing")
		checkErr(t, "GetClient of an unknown id", err, store.ErrNotFound)
	})

	t.Run("list ordered by id", func(t *testing.T) {
		s, ctx := open(t, newStore)
		got, err := s.ListClients(ctx)
		checkErr(t, "ListClients on an empty store", err, nil)
		checkEqual(t, "clients of an empty store", got, []store.Client{})

		for _, id := range []string{"svc-c", "svc-a", "svc-b"} {
			mustCreateClient(t, s, newClient(id))
		}
		got, err = s.ListClients(ctx)
		checkErr(t, "ListClients", err, nil)
		want := []store.Client{newClient("svc-a"), newClient("svc-b"), newClient("svc-c")}
		checkEqual(t, "clients", got, want)
	})

	t.Run("disable and enable", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateClient(t, s, newClient("svc-a"))
		mustCreateClient(t, s, newClient("svc-b"))

		for _, disabled := range []bool{true, true, false} {
			err := s.SetClientDisabled(ctx, "svc-a", disabled)
			checkErr(t, "SetClientDisabled", err, nil)
			got, err := s.GetClient(ctx, "svc-a")
			checkErr(t, "GetClient", err, nil)
			if got.Disabled != disabled {
				t.Errorf("after SetClientDisabled(%t), Disabled = %t", disabled, got.Disabled)
			}
		}

		other, err := s.GetClient(ctx, "svc-b")
		checkErr(t, "GetClient of the other client", err, nil)
		if other.Disabled {
			t.Error("SetClientDisabled also disabled another client")
		}
	})

	t.Run("disable unknown is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		err := s.SetClientDisabled(ctx, "missing", true)
		checkErr(t, "SetClientDisabled of an unknown id", err, store.ErrNotFound)
	})
}
