package authz

import (
	"net/http"

	"github.com/gatepass/gatepass/shared/verify"
)

// Reasons label every decision in logs and metrics. Token rejections use
// the verify.Reason values as well.
const (
	reasonAllowed           = "allowed"
	reasonPublic            = "public"
	reasonBadRequest        = "bad_request"
	reasonInvalidPath       = "invalid_path"
	reasonPolicyDenied      = "policy_denied"
	reasonNoRule            = "no_matching_rule"
	reasonMissingToken      = "missing_token"
	reasonInvalidRequest    = "invalid_request"
	reasonInsufficientScope = "insufficient_scope"
	reasonInternal          = "internal_error"
)

// OAuth 2.0 bearer token error codes (RFC 6750, section 3.1).
const (
	errorInvalidRequest    = "invalid_request"
	errorInvalidToken      = "invalid_token"
	errorInsufficientScope = "insufficient_scope"
)

// decision is the outcome of one check before it becomes a CheckResponse.
type decision struct {
	allow bool

	// reason labels the decision in metrics and logs.
	reason string

	// status is the HTTP status of a denial.
	status int

	// challenge, when set, makes the denial carry a WWW-Authenticate header.
	// errorCode is then its error attribute, or empty for a bare challenge.
	challenge bool
	errorCode string

	// detail is the human-readable explanation sent to the caller, as
	// error_description and in the JSON body.
	detail string

	// scope is the scope attribute of an insufficient_scope challenge.
	scope string

	// identity is the verified token of an allowed request, nil for a
	// public one.
	identity *identity

	// rule names the policy rule that decided, for logs.
	rule string
}

func allowPublic(rule string) decision {
	return decision{allow: true, reason: reasonPublic, rule: rule}
}

func allowToken(rule string, verified *identity) decision {
	return decision{allow: true, reason: reasonAllowed, rule: rule, identity: verified}
}

func badRequest(reason, detail string) decision {
	return decision{reason: reason, status: http.StatusBadRequest, detail: detail}
}

func forbidden(reason, rule, detail string) decision {
	return decision{reason: reason, status: http.StatusForbidden, detail: detail, rule: rule}
}

// missingToken denies a request without bearer credentials. Under RFC 6750
// section 3.1 such a challenge carries no error code.
func missingToken(rule string) decision {
	return decision{
		reason: reasonMissingToken, status: http.StatusUnauthorized, challenge: true, rule: rule,
		detail: "this request needs a bearer access token in the Authorization header",
	}
}

// invalidRequest denies a malformed Authorization header with 400, the
// status RFC 6750 section 3.1 gives invalid_request.
func invalidRequest(rule, detail string) decision {
	return decision{
		reason: reasonInvalidRequest, status: http.StatusBadRequest, challenge: true,
		errorCode: errorInvalidRequest, detail: detail, rule: rule,
	}
}

// rejectedToken denies a token the verifier rejected with 401
// invalid_token, or with 503 when the keys to check it are unavailable.
func rejectedToken(rule string, reason verify.Reason) decision {
	if reason == verify.ReasonKeysUnavailable {
		return decision{
			reason: string(reason), status: http.StatusServiceUnavailable, rule: rule,
			detail: "the access token cannot be checked because the issuer's signing keys are unavailable; retry later",
		}
	}
	return decision{
		reason: string(reason), status: http.StatusUnauthorized, challenge: true,
		errorCode: errorInvalidToken, detail: tokenErrorDetail(reason), rule: rule,
	}
}

// tokenErrorDetail explains a rejection without repeating the verifier's
// error, which can name internal hosts.
func tokenErrorDetail(reason verify.Reason) string {
	switch reason {
	case verify.ReasonAlgorithm:
		return "the access token is signed with an algorithm that is not accepted for its key"
	case verify.ReasonType:
		return "the token is not an access token: its typ header must be at+jwt"
	case verify.ReasonUnknownKey:
		return "the access token is signed with a key the issuer does not publish"
	case verify.ReasonSignature:
		return "the access token signature is invalid"
	case verify.ReasonExpired:
		return "the access token expired"
	case verify.ReasonNotYetValid:
		return "the access token is not valid yet"
	case verify.ReasonIssuer:
		return "the access token comes from another issuer"
	case verify.ReasonAudience:
		return "the access token is meant for another audience"
	case verify.ReasonClaims:
		return "the access token claims are missing or invalid"
	default:
		return "the access token is not a well-formed JWT"
	}
}

func insufficientScope(rule, requirement, scope string) decision {
	return decision{
		reason: reasonInsufficientScope, status: http.StatusForbidden, challenge: true,
		errorCode: errorInsufficientScope, rule: rule, scope: scope,
		detail: "the access token lacks the scopes this request needs: " + requirement,
	}
}

// internalError denies a request the sidecar failed to check. It is a
// denial and never an error response, because Envoy lets error responses
// through when failure_mode_allow is set.
func internalError() decision {
	return decision{
		reason: reasonInternal, status: http.StatusInternalServerError,
		detail: "the authorization check failed; retry later",
	}
}
