package authz

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// FuzzCheckToken sends arbitrary Authorization values through Check, which
// runs the bearer parser and the JWT verifier on them. None can carry a
// valid signature, so every response must be a 400, 401 or 403 denial, and
// never an allow, a 500 or a panic.
func FuzzCheckToken(f *testing.F) {
	fixture := newFixture(f, fixtureOptions{})
	valid := fixture.sign(f, fixture.es256, nil)
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		"Bearer " + valid[:len(valid)-2] + "AA",
		"Bearer " + parts[0] + "." + parts[1],
		"Bearer " + parts[0] + ".e30." + parts[2],
		"Bearer eyJhbGciOiJub25lIn0.e30.",
		"Bearer " + strings.Repeat("a.", 20),
		"bearer   x.y.z",
		"Basic abc",
		"",
	} {
		f.Add(seed)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, authorization string) {
		response, err := fixture.server.Check(ctx, checkRequest(http.MethodGet, "/api/x", map[string]string{"authorization": authorization}))
		if err != nil {
			t.Fatalf("Check returned an error: %v", err)
		}
		if codes.Code(response.GetStatus().GetCode()) == codes.OK {
			t.Fatalf("Check allowed Authorization %q", authorization)
		}
		switch status := response.GetDeniedResponse().GetStatus().GetCode(); status {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("Check answered %d for Authorization %q, want 400, 401 or 403", status, authorization)
		}
	})
}

// FuzzCheckPath sends arbitrary paths through Check with a valid token: a
// path either matches a rule after canonical checks or is rejected with
// 400, and nothing panics.
func FuzzCheckPath(f *testing.F) {
	fixture := newFixture(f, fixtureOptions{})
	authorization := "Bearer " + fixture.sign(f, fixture.es256, nil)
	for _, seed := range []string{"/api/x", "/health/../api", "/%2e%2e/api", "//api", "/api?x=1", "*", ""} {
		f.Add(seed)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, path string) {
		response, err := fixture.server.Check(ctx, checkRequest(http.MethodGet, path, map[string]string{"authorization": authorization}))
		if err != nil {
			t.Fatalf("Check returned an error: %v", err)
		}
		if codes.Code(response.GetStatus().GetCode()) == codes.OK {
			return
		}
		switch status := response.GetDeniedResponse().GetStatus().GetCode(); status {
		case http.StatusBadRequest, http.StatusForbidden:
		default:
			t.Fatalf("Check answered %d for path %q, want an allow, 400 or 403", status, path)
		}
	})
}
