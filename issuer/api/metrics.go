package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's Prometheus metrics.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	tokensIssued *prometheus.CounterVec
	tokenErrors  *prometheus.CounterVec
	authFailures prometheus.Counter
	refreshReuse prometheus.Counter
}

// NewMetrics creates the API metrics and registers them with registerer.
func NewMetrics(registerer prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatepass_http_request_duration_seconds",
			Help:    "HTTP request latency by route, in seconds.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_tokens_issued_total",
			Help: "Access tokens issued, by grant type.",
		}, []string{"grant_type"}),
		tokenErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_token_errors_total",
			Help: "Rejected token requests, by grant type and OAuth error code.",
		}, []string{"grant_type", "error"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatepass_client_authentication_failures_total",
			Help: "Failed client authentications at the token endpoint.",
		}),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatepass_refresh_token_reuse_total",
			Help: "Reuses of spent refresh tokens, each of which revoked a token family.",
		}),
	}
	registerer.MustRegister(m.requests, m.duration, m.tokensIssued, m.tokenErrors, m.authFailures, m.refreshReuse)
	return m
}

// middleware counts and times every request by its route pattern, never by
// its raw path, so client ids in paths do not explode the label set.
func (m *Metrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()

	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

// methodLabel bounds the method label to the standard methods, because a
// client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}
