package authz

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus metrics of Check.
type metrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// counters caches the counter of each decision and reason, so a check
	// does not hash label values.
	counters sync.Map
	allowed  prometheus.Observer
	denied   prometheus.Observer
}

type counterKey struct {
	decision string
	reason   string
}

func newMetrics(registerer prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatepass",
			Subsystem: "extauthz",
			Name:      "checks_total",
			Help:      "Authorization checks by decision (allow or deny) and reason.",
		}, []string{"decision", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "gatepass",
			Subsystem: "extauthz",
			Name:      "check_duration_seconds",
			Help:      "Time spent deciding one authorization check, by decision.",
			// From 10µs, a cached token, to about 2.6s, a slow key fetch.
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}, []string{"decision"}),
	}
	m.allowed = m.duration.WithLabelValues("allow")
	m.denied = m.duration.WithLabelValues("deny")

	if registerer != nil {
		for _, collector := range []prometheus.Collector{m.checks, m.duration} {
			if err := registerer.Register(collector); err != nil {
				return nil, fmt.Errorf("authz: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) observe(d decision, elapsed time.Duration) {
	key := counterKey{decision: "deny", reason: d.reason}
	observer := m.denied
	if d.allow {
		key.decision = "allow"
		observer = m.allowed
	}
	observer.Observe(elapsed.Seconds())

	counter, found := m.counters.Load(key)
	if !found {
		counter, _ = m.counters.LoadOrStore(key, m.checks.WithLabelValues(key.decision, key.reason))
	}
	counter.(prometheus.Counter).Inc()
}
