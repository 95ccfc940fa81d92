package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

func TestScanCached(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	registerUTCTimes(t.Context(), conn)

	const key = "test.row"
	scanOne := func(t *testing.T, sql string, dest ...any) *scanPlans {
		t.Helper()
		rows, err := conn.Query(t.Context(), sql)
		if err != nil {
			t.Fatalf("query %q: %v", sql, err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("query %q returned no row: %v", sql, rows.Err())
		}
		if err := scanCached(rows, key, dest); err != nil {
			t.Fatalf("scanCached of %q: %v", sql, err)
		}
		plans, _ := conn.PgConn().CustomData()[key].(*scanPlans)
		return plans
	}

	var (
		text   string
		list   []string
		at     *time.Time
		number int64
	)
	first := scanOne(t, `SELECT 'a'::text, ARRAY['x','y']::text[], NULL::timestamptz`, &text, &list, &at)
	if text != "a" || len(list) != 2 || list[1] != "y" || at != nil {
		t.Errorf("first row = %q %q %v, want a [x y] <nil>", text, list, at)
	}

	second := scanOne(t, `SELECT 'b'::text, ARRAY['z']::text[], '2026-01-02T03:04:05Z'::timestamptz`, &text, &list, &at)
	if second != first {
		t.Error("a row of the same shape was planned again, want the cached plans reused")
	}
	if text != "b" || len(list) != 1 || at == nil || !at.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("second row = %q %q %v, want b [z] 2026-01-02T03:04:05Z", text, list, at)
	}
	if at != nil && at.Location() != time.UTC {
		t.Errorf("timestamptz scanned in %v, want UTC", at.Location())
	}

	third := scanOne(t, `SELECT 'c'::text, ARRAY['w']::text[], 7::int8`, &text, &list, &number)
	if third == first {
		t.Error("a row with another column type used the old plans, want new ones")
	}
	if text != "c" || number != 7 {
		t.Errorf("third row = %q %d, want c 7", text, number)
	}
}

func TestScanCachedColumnCount(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	rows, err := conn.Query(t.Context(), `SELECT 1::int8, 2::int8`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var only int64
	if err := scanCached(rows, "test.count", []any{&only}); err == nil {
		t.Error("scanCached of two columns into one destination returned no error")
	}
}
