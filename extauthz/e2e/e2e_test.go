// Package e2e runs the built cmd/issuer and cmd/extauthz binaries as
// processes on loopback and drives the sidecar with a gRPC client built on
// go-control-plane's ext_authz types.
package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const policy = `
default: deny
rules:
  - name: reports
    prefix: /reports
    access: scopes
    scopes:
      all_of: [reports:read]
  - name: admin
    prefix: /admin
    access: scopes
    scopes:
      any_of: [admin]
  - name: status
    path: /status
    access: public
`

// unknownKeyToken is a JWT whose header names ES256, typ at+jwt and a kid
// no issuer publishes, so checking it needs a JWK Set fetch.
const unknownKeyToken = "eyJhbGciOiJFUzI1NiIsImtpZCI6InVua25vd24iLCJ0eXAiOiJhdCtqd3QifQ.e30.c2lnbmF0dXJl"

// reloadedPolicy makes /reports public, so a reload is visible in a check.
const reloadedPolicy = `
default: deny
rules:
  - name: reports
    prefix: /reports
    access: public
`

// startStack starts an issuer with one credential for reports:read and a
// sidecar in front of it, and waits until the sidecar has the issuer's keys.
func startStack(t *testing.T) (*issuer, credential, *sidecar) {
	t.Helper()
	iss := newIssuer(t)
	reader := iss.createCredential(t, "svc-reports", "reports:read")
	iss.start(t)
	side := startSidecar(t, iss, policy)
	side.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
	return iss, reader, side
}

func TestSidecarWithIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer and sidecar binaries")
	}
	iss, reader, side := startStack(t)

	token := iss.token(t, reader)

	t.Run("allowed with identity headers", func(t *testing.T) {
		response := side.check(t, token, "/reports/1")
		requireDecision(t, response, http.StatusOK)
		headers := map[string]string{}
		for _, header := range response.GetOkResponse().GetHeaders() {
			headers[header.GetHeader().GetKey()] = header.GetHeader().GetValue()
		}
		want := map[string]string{
			"x-auth-subject":       "svc-reports",
			"x-auth-client-id":     "svc-reports",
			"x-auth-scopes":        "reports:read",
			"x-auth-credential-id": reader.CredentialID,
		}
		for name, value := range want {
			if headers[name] != value {
				t.Errorf("header %s = %q, want %q", name, headers[name], value)
			}
		}
	})
	t.Run("insufficient scope", func(t *testing.T) {
		response := side.check(t, token, "/admin/users")
		requireDecision(t, response, http.StatusForbidden)
		challenge := response.GetDeniedResponse().GetHeaders()
		found := false
		for _, header := range challenge {
			if header.GetHeader().GetKey() == "www-authenticate" && strings.Contains(header.GetHeader().GetValue(), `error="insufficient_scope"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("403 lacks an insufficient_scope challenge: %v", challenge)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		requireDecision(t, side.check(t, "", "/reports/1"), http.StatusUnauthorized)
	})
	t.Run("public path", func(t *testing.T) {
		requireDecision(t, side.check(t, "", "/status"), http.StatusOK)
	})
	t.Run("policy reload on SIGHUP", func(t *testing.T) {
		seen := side.process.lineCount()
		writeFile(t, side.policyPath, "rules: [broken")
		side.process.signal(t, syscall.SIGHUP)
		seen = side.process.waitForLine(t, seen, "reloading the policy failed")
		requireDecision(t, side.check(t, "", "/reports/1"), http.StatusUnauthorized)

		writeFile(t, side.policyPath, reloadedPolicy)
		side.process.signal(t, syscall.SIGHUP)
		side.process.waitForLine(t, seen, "reloaded the policy")
		requireDecision(t, side.check(t, "", "/reports/1"), http.StatusOK)

		writeFile(t, side.policyPath, policy)
		seen = side.process.lineCount()
		side.process.signal(t, syscall.SIGHUP)
		side.process.waitForLine(t, seen, "reloaded the policy")
	})
}

// TestSidecarKeyRotation rotates the issuer's signing key: tokens of the
// new key pass within one refetch interval, and tokens of the old key pass
// until they expire.
func TestSidecarKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer and sidecar binaries")
	}
	iss, reader, side := startStack(t)

	checked := iss.token(t, reader)
	requireDecision(t, side.check(t, checked, "/reports/1"), http.StatusOK)
	unchecked := iss.token(t, reader)

	// The issuer picks up a rotation made by the CLI at its next key
	// refresh. Restarting it makes the new key sign at once.
	iss.stop(t)
	iss.run(t, "keys", "rotate")
	iss.start(t)

	rotated := iss.token(t, reader)
	if keyID(t, rotated) == keyID(t, checked) {
		t.Fatalf("token after rotation has the old kid %q", keyID(t, rotated))
	}

	t.Run("new key within one refetch interval", func(t *testing.T) {
		response := side.check(t, rotated, "/reports/1")
		if codes.Code(response.GetStatus().GetCode()) != codes.OK {
			// The sidecar may have fetched less than one refetch interval
			// ago, so it refuses to fetch again until the interval is over.
			time.Sleep(refetchInterval)
			response = side.check(t, rotated, "/reports/1")
		}
		requireDecision(t, response, http.StatusOK)
	})
	t.Run("old key until expiry", func(t *testing.T) {
		requireDecision(t, side.check(t, checked, "/reports/1"), http.StatusOK)
		requireDecision(t, side.check(t, unchecked, "/reports/1"), http.StatusOK)

		// Waiting for the expiry is the behaviour under test, not a
		// synchronisation: exp has one-second resolution and the sidecar
		// allows one second of leeway.
		time.Sleep(time.Until(expiry(t, checked).Add(2 * time.Second)))
		requireDecision(t, side.check(t, checked, "/reports/1"), http.StatusUnauthorized)
		requireDecision(t, side.check(t, unchecked, "/reports/1"), http.StatusUnauthorized)
	})
}

// TestSidecarIssuerDown stops the issuer: checks go on with the cached keys.
func TestSidecarIssuerDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer and sidecar binaries")
	}
	iss, reader, side := startStack(t)

	cached := iss.token(t, reader)
	requireDecision(t, side.check(t, cached, "/reports/1"), http.StatusOK)
	fresh := iss.token(t, reader)

	iss.stop(t)
	seen := side.process.lineCount()

	t.Run("cached token", func(t *testing.T) {
		requireDecision(t, side.check(t, cached, "/reports/1"), http.StatusOK)
	})
	t.Run("new token verified with cached keys", func(t *testing.T) {
		requireDecision(t, side.check(t, fresh, "/reports/1"), http.StatusOK)
	})
	t.Run("unknown key while down", func(t *testing.T) {
		// A kid the sidecar has not seen makes it fetch. The fetch fails,
		// so the denial is a retryable 503, not a 401.
		time.Sleep(refetchInterval)
		requireDecision(t, side.check(t, unknownKeyToken, "/reports/1"), http.StatusServiceUnavailable)
		side.process.waitForLine(t, seen, "serving the cached keys")
	})
}

// TestSidecarStartsBeforeIssuer starts the sidecar while the issuer is
// down: it denies with 503, retries, and allows once keys arrive.
func TestSidecarStartsBeforeIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer and sidecar binaries")
	}
	iss := newIssuer(t)
	reader := iss.createCredential(t, "svc-reports", "reports:read")
	side := startSidecar(t, iss, policy)
	side.process.waitForLine(t, 0, "no keys are cached")

	response := side.check(t, unknownKeyToken, "/reports/1")
	requireDecision(t, response, http.StatusServiceUnavailable)
	if !strings.Contains(response.GetDeniedResponse().GetBody(), "keys are unavailable") {
		t.Errorf("503 body %q does not explain that keys are unavailable", response.GetDeniedResponse().GetBody())
	}

	iss.start(t)
	side.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
	requireDecision(t, side.check(t, iss.token(t, reader), "/reports/1"), http.StatusOK)
}

// TestSidecarRejectsInvalidPolicy checks that a bad policy file stops the
// sidecar at start with the file, line and reason.
func TestSidecarRejectsInvalidPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the sidecar binary")
	}
	side := startSidecarExpectingExit(t, "rules:\n  - prefix: /a\n    access: everyone\n")
	if !strings.Contains(side.output, "policy.yaml:3: rule 1: access is \"everyone\"") {
		t.Errorf("output %q does not name the line and reason", side.output)
	}
	if side.exitCode == 0 {
		t.Error("sidecar exited with status 0, want a failure")
	}
}

type exitedSidecar struct {
	output   string
	exitCode int
}

func startSidecarExpectingExit(t *testing.T, policyText string) exitedSidecar {
	t.Helper()
	iss := newIssuer(t)
	side := startSidecar(t, iss, policyText)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := side.process.wait(ctx)
	result := exitedSidecar{output: side.process.output()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		result.exitCode = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("waiting for the sidecar to exit: %v", err)
	}
	return result
}
