package jwks

import (
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus metrics of a Cache.
type metrics struct {
	refreshes *prometheus.CounterVec
}

// newMetrics creates the metrics of cache and registers them with
// registerer, unless it is nil.
func newMetrics(registerer prometheus.Registerer, cache *Cache) (*metrics, error) {
	m := &metrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatepass",
			Subsystem: "extauthz",
			Name:      "jwks_fetches_total",
			Help:      "JWK Set fetches by result: updated, not_modified (the ETag matched) or failed.",
		}, []string{"result"}),
	}
	for _, outcome := range []string{outcomeUpdated, outcomeNotModified, outcomeFailed} {
		m.refreshes.WithLabelValues(outcome)
	}
	if registerer == nil {
		return m, nil
	}

	keyAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "gatepass",
		Subsystem: "extauthz",
		Name:      "jwks_keys_age_seconds",
		Help:      "Seconds since the issuer last confirmed the keys in use; +Inf before the first successful fetch.",
	}, func() float64 {
		refreshedAt := cache.state.Load().refreshedAt
		if refreshedAt.IsZero() {
			return math.Inf(1)
		}
		return cache.now().Sub(refreshedAt).Seconds()
	})
	keyCount := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "gatepass",
		Subsystem: "extauthz",
		Name:      "jwks_keys",
		Help:      "Number of verification keys held.",
	}, func() float64 {
		return float64(cache.state.Load().keyCount)
	})
	for _, collector := range []prometheus.Collector{m.refreshes, keyAge, keyCount} {
		if err := registerer.Register(collector); err != nil {
			return nil, fmt.Errorf("jwks: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeFetch(outcome string) {
	m.refreshes.WithLabelValues(outcome).Inc()
}
