package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/shared/scope"
)

// Limits of a credential creation request.
const (
	maxCredentialBodyBytes = 64 << 10
	maxExpiresInDays       = 36500
	maxPermissions         = 64
	maxPermissionEntries   = 16
	maxPermissionLength    = 256
	defaultExpiresInDays   = 90
	defaultCredentialType  = "interactive"
)

// Limits that keep every access token under verify.MaxTokenLength (8 KiB):
// a token carries the scopes and permissions of its credential, and
// base64url grows them by a third.
const (
	maxScopeBytes      = 2048
	maxPermissionBytes = 2048
)

// CheckTokenBudget reports whether scopes and permissions fit into an
// access token: the space-joined scopes and the JSON of the permissions
// may each take at most 2048 bytes.
func CheckTokenBudget(scopes []string, permissions [][]string) error {
	if joined := len(strings.Join(scopes, " ")); joined > maxScopeBytes {
		return fmt.Errorf("the scopes take %d bytes joined, the maximum is %d, so that tokens stay under 8 KiB", joined, maxScopeBytes)
	}
	encoded, _ := json.Marshal(permissions)
	if len(encoded) > maxPermissionBytes {
		return fmt.Errorf("the permissions take %d bytes as JSON, the maximum is %d, so that tokens stay under 8 KiB", len(encoded), maxPermissionBytes)
	}
	return nil
}

// idPattern is the syntax of client ids: 1 to 64 letters, digits, '.', '_',
// '-' or '@', starting with a letter or digit, so that no id is a path dot
// segment or reads as a command-line flag.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// typePattern is the syntax of credential types.
var typePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// ValidCredentialType reports whether t follows the credential type syntax:
// 1 to 32 letters, digits, '.', '_' or '-'.
func ValidCredentialType(t string) bool {
	return typePattern.MatchString(t)
}

// MaxCredentialDays is the longest credential lifetime a request may ask
// for, about 100 years.
const MaxCredentialDays = maxExpiresInDays

// ValidClientID reports whether id follows the client id syntax.
func ValidClientID(id string) bool {
	return idPattern.MatchString(id)
}

// createCredentialRequest is the validated body of a credential creation.
type createCredentialRequest struct {
	Type          string
	ExpiresInDays *int
	Scopes        scope.Set
	Permissions   [][]string
}

// readCreateCredentialRequest decodes and validates the JSON body. It
// writes 413 or 422 itself and returns ok=false on failure. An empty body
// means every default.
func readCreateCredentialRequest(c *gin.Context) (createCredentialRequest, bool) {
	request := createCredentialRequest{Type: defaultCredentialType, ExpiresInDays: intPointer(defaultExpiresInDays), Scopes: scope.Set{}, Permissions: [][]string{}}

	body, ok := readJSONBody(c)
	if !ok || len(bytes.TrimSpace(body)) == 0 {
		return request, ok
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		writeValidationError(c, "the body must be a JSON object"+jsonProblem(err), "value_error.jsondecode", "body")
		return request, false
	}

	var errs validationErrors
	if raw, present := fields["type"]; present {
		request.Type = decodeType(raw, &errs)
	}
	if raw, present := fields["expires_in_days"]; present {
		request.ExpiresInDays = decodeExpiresInDays(raw, &errs)
	}
	if raw, present := fields["scopes"]; present {
		request.Scopes = decodeScopes(raw, &errs)
	}
	if raw, present := fields["permissions"]; present {
		request.Permissions = decodePermissions(raw, &errs)
	}
	if len(errs) == 0 {
		checkTokenBudget(request, &errs)
	}
	if len(errs) > 0 {
		errs.write(c)
		return request, false
	}
	return request, true
}

// checkTokenBudget adds an error when the request's scopes or permissions
// would make tokens too large.
func checkTokenBudget(request createCredentialRequest, errs *validationErrors) {
	if err := CheckTokenBudget(request.Scopes, nil); err != nil {
		errs.add(err.Error(), "value_error.list.max_length", "body", "scopes")
	}
	if err := CheckTokenBudget(nil, request.Permissions); err != nil {
		errs.add(err.Error(), "value_error.list.max_length", "body", "permissions")
	}
}

// readJSONBody reads a bounded body and checks its media type.
func readJSONBody(c *gin.Context) ([]byte, bool) {
	if c.Request.ContentLength > maxCredentialBodyBytes {
		writeDetail(c, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
		return nil, false
	}
	if contentType := c.GetHeader("Content-Type"); contentType != "" {
		mediaType, _, err := mime.ParseMediaType(contentType)
		if err != nil || mediaType != "application/json" {
			writeValidationError(c, "the body must be JSON (Content-Type: application/json)", "value_error.content_type", "body")
			return nil, false
		}
	}

	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxCredentialBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeDetail(c, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
		return nil, false
	case err != nil:
		writeDetail(c, http.StatusBadRequest, "could not read the request body")
		return nil, false
	}
	return body, true
}

func decodeType(raw json.RawMessage, errs *validationErrors) string {
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		errs.add("str type expected", "type_error.str", "body", "type")
		return ""
	}
	if !typePattern.MatchString(value) {
		errs.add("type must be 1 to 32 letters, digits, '.', '_' or '-'", "value_error.str.regex", "body", "type")
	}
	return value
}

func decodeExpiresInDays(raw json.RawMessage, errs *validationErrors) *int {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	days, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil {
		errs.add("value is not a valid integer", "type_error.integer", "body", "expires_in_days")
		return nil
	}
	switch {
	case days < 1:
		errs.add("ensure this value is greater than or equal to 1", "value_error.number.not_ge", "body", "expires_in_days")
	case days > maxExpiresInDays:
		errs.add(fmt.Sprintf("ensure this value is less than or equal to %d", maxExpiresInDays), "value_error.number.not_le", "body", "expires_in_days")
	}
	return &days
}

func decodeScopes(raw json.RawMessage, errs *validationErrors) scope.Set {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		errs.add("value is not a valid list", "type_error.list", "body", "scopes")
		return nil
	}
	if len(list) > scope.MaxTokens {
		errs.add(fmt.Sprintf("ensure this value has at most %d items", scope.MaxTokens), "value_error.list.max_items", "body", "scopes")
		return nil
	}

	tokens := make([]string, 0, len(list))
	for i, item := range list {
		var token string
		if err := json.Unmarshal(item, &token); err != nil {
			errs.add("str type expected", "type_error.str", "body", "scopes", i)
			continue
		}
		if err := scope.ValidateToken(token); err != nil {
			errs.add(err.Error(), "value_error.scope", "body", "scopes", i)
			continue
		}
		tokens = append(tokens, token)
	}
	set, _ := scope.FromList(tokens)
	return set
}

func decodePermissions(raw json.RawMessage, errs *validationErrors) [][]string {
	var outer []json.RawMessage
	if err := json.Unmarshal(raw, &outer); err != nil {
		errs.add("value is not a valid list", "type_error.list", "body", "permissions")
		return nil
	}
	if len(outer) > maxPermissions {
		errs.add(fmt.Sprintf("ensure this value has at most %d items", maxPermissions), "value_error.list.max_items", "body", "permissions")
		return nil
	}

	permissions := make([][]string, 0, len(outer))
	for i, item := range outer {
		var entries []json.RawMessage
		if err := json.Unmarshal(item, &entries); err != nil || len(entries) == 0 || len(entries) > maxPermissionEntries {
			errs.add(fmt.Sprintf("each permission must be a list of 1 to %d strings", maxPermissionEntries), "type_error.list", "body", "permissions", i)
			continue
		}
		permission := make([]string, 0, len(entries))
		for j, entry := range entries {
			var value string
			if err := json.Unmarshal(entry, &value); err != nil || value == "" || len(value) > maxPermissionLength {
				errs.add(fmt.Sprintf("must be a non-empty string of at most %d bytes", maxPermissionLength), "type_error.str", "body", "permissions", i, j)
				continue
			}
			permission = append(permission, value)
		}
		permissions = append(permissions, permission)
	}
	return permissions
}

// jsonProblem describes a decoding error for a response, without Go type
// names, as a suffix to "the body must be a JSON object".
func jsonProblem(err error) string {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf(": %v at offset %d", syntaxErr, syntaxErr.Offset)
	}
	return ""
}

func intPointer(v int) *int { return &v }
