package keys

import (
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

var (
	scheduleNow    = time.Date(2026, 8, 21, 9, 0, 0, 0, time.UTC)
	scheduleRules  = policy{algorithm: ES256, rotationPeriod: 24 * time.Hour, publishAhead: time.Hour, retainFor: 7 * time.Minute}
	scheduleRetain = scheduleRules.retainFor
)

func at(offset time.Duration) *time.Time {
	t := scheduleNow.Add(offset)
	return &t
}

func row(id string, activates time.Duration, retired, expires *time.Time) store.SigningKey {
	return store.SigningKey{
		ID:          id,
		Algorithm:   ES256,
		CreatedAt:   scheduleNow.Add(activates - time.Hour),
		ActivatesAt: scheduleNow.Add(activates),
		RetiredAt:   retired,
		ExpiresAt:   expires,
	}
}

func TestScheduleActiveAndUpcoming(t *testing.T) {
	tests := []struct {
		name         string
		rows         []store.SigningKey
		wantActive   string
		wantUpcoming []string
	}{
		{name: "no keys"},
		{
			name:       "one active",
			rows:       []store.SigningKey{row("a", -time.Hour, nil, nil)},
			wantActive: "a",
		},
		{
			name: "active and next",
			rows: []store.SigningKey{
				row("a", -time.Hour, at(time.Hour), at(time.Hour+scheduleRetain)),
				row("b", time.Hour, nil, nil),
			},
			wantActive:   "a",
			wantUpcoming: []string{"b"},
		},
		{
			name: "next activated on time",
			rows: []store.SigningKey{
				row("a", -2*time.Hour, at(0), at(scheduleRetain)),
				row("b", 0, nil, nil),
			},
			wantActive: "b",
		},
		{
			name: "latest activation wins without retirement times",
			rows: []store.SigningKey{
				row("a", -2*time.Hour, nil, nil),
				row("b", -time.Hour, nil, nil),
			},
			wantActive: "b",
		},
		{
			name: "withdrawn key does not sign",
			rows: []store.SigningKey{
				row("a", -2*time.Hour, at(-time.Minute), at(-time.Minute)),
			},
		},
		{
			name: "withdrawn next key is not upcoming",
			rows: []store.SigningKey{
				row("a", -2*time.Hour, nil, nil),
				row("b", time.Hour, at(-time.Minute), at(-time.Minute)),
			},
			wantActive: "a",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s := newSchedule(test.rows, scheduleNow, scheduleRules)
			active := ""
			if key := s.active(); key != nil {
				active = key.ID
			}
			if active != test.wantActive {
				t.Errorf("active = %q, want %q", active, test.wantActive)
			}
			var upcoming []string
			for _, key := range s.upcoming() {
				upcoming = append(upcoming, key.ID)
			}
			if len(upcoming) != len(test.wantUpcoming) || (len(upcoming) > 0 && upcoming[0] != test.wantUpcoming[0]) {
				t.Errorf("upcoming = %v, want %v", upcoming, test.wantUpcoming)
			}
		})
	}
}

func TestScheduleLinkChain(t *testing.T) {
	tests := []struct {
		name string
		rows []store.SigningKey
		// want maps each key id to its expected retirement offset from
		// scheduleNow, or nil for none.
		want        map[string]*time.Time
		wantChanged []string
	}{
		{
			name: "linked chain unchanged",
			rows: []store.SigningKey{
				row("a", -time.Hour, at(time.Hour), at(time.Hour+scheduleRetain)),
				row("b", time.Hour, nil, nil),
			},
			want: map[string]*time.Time{"a": at(time.Hour), "b": nil},
		},
		{
			name: "successor without retirement of predecessor",
			rows: []store.SigningKey{
				row("a", -time.Hour, nil, nil),
				row("b", time.Hour, nil, nil),
			},
			want:        map[string]*time.Time{"a": at(time.Hour), "b": nil},
			wantChanged: []string{"a"},
		},
		{
			name: "planned retirement without successor is undone",
			rows: []store.SigningKey{
				row("a", -time.Hour, at(time.Hour), at(time.Hour+scheduleRetain)),
			},
			want:        map[string]*time.Time{"a": nil},
			wantChanged: []string{"a"},
		},
		{
			name: "retirement follows moved activation",
			rows: []store.SigningKey{
				row("a", -time.Hour, at(time.Hour), at(time.Hour+scheduleRetain)),
				row("b", 30*time.Minute, nil, nil),
			},
			want:        map[string]*time.Time{"a": at(30 * time.Minute), "b": nil},
			wantChanged: []string{"a"},
		},
		{
			name: "retired keys left alone",
			rows: []store.SigningKey{
				row("old", -3*time.Hour, at(-time.Hour), at(-time.Hour+scheduleRetain)),
				row("a", -time.Hour, nil, nil),
			},
			want: map[string]*time.Time{"old": at(-time.Hour), "a": nil},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s := newSchedule(test.rows, scheduleNow, scheduleRules)
			wasLinked := s.linked()
			s.linkChain()

			for id, want := range test.want {
				key := s.find(id)
				switch {
				case want == nil && key.RetiredAt != nil:
					t.Errorf("key %s retires at %v, want no retirement", id, key.RetiredAt)
				case want != nil && (key.RetiredAt == nil || !key.RetiredAt.Equal(*want)):
					t.Errorf("key %s retires at %v, want %v", id, key.RetiredAt, *want)
				case want != nil && !key.ExpiresAt.Equal(want.Add(scheduleRetain)):
					t.Errorf("key %s expires at %v, want retainFor after retirement", id, key.ExpiresAt)
				}
			}

			var changed []string
			for _, key := range s.writes() {
				changed = append(changed, key.ID)
			}
			if len(changed) != len(test.wantChanged) || (len(changed) > 0 && changed[0] != test.wantChanged[0]) {
				t.Errorf("changed keys = %v, want %v", changed, test.wantChanged)
			}
			if wasLinked != (len(test.wantChanged) == 0) {
				t.Errorf("linked() = %v before linkChain, want %v", wasLinked, len(test.wantChanged) == 0)
			}
		})
	}
}

func TestScheduleSuccessorActivation(t *testing.T) {
	tests := []struct {
		name      string
		activated time.Duration
		algorithm string
		wantDue   bool
		want      time.Duration
	}{
		{name: "fresh key", activated: -time.Hour, algorithm: ES256},
		{name: "just before publication", activated: -23*time.Hour + time.Second, algorithm: ES256},
		{name: "publication due", activated: -23 * time.Hour, algorithm: ES256, wantDue: true, want: time.Hour},
		{name: "overdue keeps publish ahead", activated: -48 * time.Hour, algorithm: ES256, wantDue: true, want: time.Hour},
		{name: "other algorithm", activated: -time.Hour, algorithm: RS256, wantDue: true, want: time.Hour},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			active := row("a", test.activated, nil, nil)
			active.Algorithm = test.algorithm
			s := newSchedule([]store.SigningKey{active}, scheduleNow, scheduleRules)

			got, due := s.successorActivation(s.find("a"))
			if due != test.wantDue {
				t.Fatalf("due = %v, want %v", due, test.wantDue)
			}
			if due && !got.Equal(scheduleNow.Add(test.want)) {
				t.Errorf("successor activates at %v, want %v", got, scheduleNow.Add(test.want))
			}
		})
	}
}
