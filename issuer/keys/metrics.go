package keys

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Rotation reasons, the values of the "reason" label of the rotation counter.
const (
	reasonScheduled = "scheduled"
	reasonManual    = "manual"
	reasonEmergency = "emergency"
)

// metrics are the Prometheus metrics of a Manager.
type metrics struct {
	rotations       *prometheus.CounterVec
	refreshFailures prometheus.Counter
}

// newMetrics creates the metrics and registers them with registerer unless
// it is nil.
func newMetrics(registerer prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatepass_signing_key_rotations_total",
			Help: "Signing key rotations this replica decided, by reason: scheduled (a successor was published), manual (Rotate) or emergency (Retire of the active key).",
		}, []string{"reason"}),
		refreshFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatepass_signing_key_refresh_failures_total",
			Help: "Background reloads of the signing keys from the store that failed.",
		}),
	}
	for _, reason := range []string{reasonScheduled, reasonManual, reasonEmergency} {
		m.rotations.WithLabelValues(reason)
	}

	if registerer == nil {
		return m, nil
	}
	for _, collector := range []prometheus.Collector{m.rotations, m.refreshFailures} {
		if err := registerer.Register(collector); err != nil {
			return nil, fmt.Errorf("registering signing key metrics: %w", err)
		}
	}
	return m, nil
}
