package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// fieldError is one entry of a 422 response, in the shape FastAPI writes
// and the existing clients parse.
type fieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// validationErrors collects field errors of one request.
type validationErrors []fieldError

func (v *validationErrors) add(msg, errType string, loc ...any) {
	*v = append(*v, fieldError{Loc: loc, Msg: msg, Type: errType})
}

// write sends the collected errors as 422.
func (v validationErrors) write(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": []fieldError(v)})
}

// writeValidationError sends a single field error as 422.
func writeValidationError(c *gin.Context, msg, errType string, loc ...any) {
	var errs validationErrors
	errs.add(msg, errType, loc...)
	errs.write(c)
}

// writeTokenValidationError sends a single field error of the token
// endpoint as 422. Besides FastAPI's detail list, which the existing
// clients read, the body carries the RFC 6749 error fields that OAuth
// libraries read.
func writeTokenValidationError(c *gin.Context, msg, errType string, loc ...any) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{
		"detail":            []fieldError{{Loc: loc, Msg: msg, Type: errType}},
		"error":             errInvalidRequest,
		"error_description": msg,
	})
}
