package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// maxFormBytes bounds the body of /token. A legitimate request is a few
// hundred bytes.
const maxFormBytes = 8 << 10

// maxFieldBytes bounds a single form value.
const maxFieldBytes = 2 << 10

// tokenForm is the parsed body of a token request.
type tokenForm struct {
	values url.Values
}

// get returns the single value of name, or "" when absent.
func (f tokenForm) get(name string) string {
	if v := f.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// has reports whether name was sent, even empty.
func (f tokenForm) has(name string) bool {
	_, ok := f.values[name]
	return ok
}

// readTokenForm reads and checks the form body of a token request. It
// writes the error response itself and returns ok=false on failure: 413 for
// an oversize body, 422 for a body that is not form-encoded (the existing
// clients expect FastAPI's response), and 400 invalid_request for repeated or
// oversize parameters (RFC 6749, section 3.2).
func readTokenForm(c *gin.Context) (tokenForm, bool) {
	if c.Request.ContentLength > maxFormBytes {
		writeFormTooLarge(c)
		return tokenForm{}, false
	}
	contentType := c.GetHeader("Content-Type")
	if contentType == "" && c.Request.ContentLength == 0 {
		// An empty body is a complete request when HTTP Basic carries the
		// client and grant_type takes its default.
		return tokenForm{values: url.Values{}}, true
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		writeTokenValidationError(c, "the body must be form data (Content-Type: application/x-www-form-urlencoded)", "value_error.content_type", "body")
		return tokenForm{}, false
	}

	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeFormTooLarge(c)
		return tokenForm{}, false
	case err != nil:
		writeTokenError(c, invalidRequest("could not read the request body"))
		return tokenForm{}, false
	}

	values, err := url.ParseQuery(string(body))
	if err != nil {
		writeTokenError(c, invalidRequest("the body is not valid form encoding: "+err.Error()))
		return tokenForm{}, false
	}
	if problem := checkFormValues(values); problem != "" {
		writeTokenError(c, invalidRequest(problem))
		return tokenForm{}, false
	}
	return tokenForm{values: values}, true
}

// writeFormTooLarge writes 413 in the token endpoint's error shape.
func writeFormTooLarge(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	description := "the request body is larger than 8 KiB"
	c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, oauthError{Error: errInvalidRequest, Description: description, Detail: description})
}

// checkFormValues enforces that no parameter repeats and none is oversize.
func checkFormValues(values url.Values) string {
	for name, list := range values {
		if len(list) > 1 {
			return "parameter " + quoteName(name) + " is repeated; send each parameter once"
		}
		if len(list[0]) > maxFieldBytes {
			return "parameter " + quoteName(name) + " is longer than 2048 bytes"
		}
	}
	return ""
}

// quoteName quotes a client-sent parameter name for an error message,
// shortened so the message stays bounded.
func quoteName(name string) string {
	if len(name) > 40 {
		name = name[:40] + "..."
	}
	return `"` + strings.ToValidUTF8(quoteSafe(name), "") + `"`
}
