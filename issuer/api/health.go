package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// readinessTimeout bounds the storage check of /health/ready.
const readinessTimeout = 2 * time.Second

// handleHealth reports that the process serves HTTP (liveness).
func (s *Server) handleHealth(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReady reports whether storage responds (readiness).
func (s *Server) handleReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readinessTimeout)
	defer cancel()

	if err := s.deps.Store.Ping(ctx); err != nil {
		s.deps.Logger.WarnContext(c, "readiness check failed: storage does not respond", "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "storage": "unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "storage": "ok"})
}
