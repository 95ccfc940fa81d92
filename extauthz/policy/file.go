package policy

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// File is a policy file that can be reloaded while requests are checked
// against it. It is safe for concurrent use.
type File struct {
	path    string
	logger  *slog.Logger
	current atomic.Pointer[Policy]
	reloads *prometheus.CounterVec
}

// Open loads the policy file at path. It fails when the file is invalid,
// so a sidecar never starts with a policy it cannot read. The reload counter
// is registered with registerer unless it is nil.
func Open(path string, logger *slog.Logger, registerer prometheus.Registerer) (*File, error) {
	policy, err := Load(path)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}

	file := &File{
		path:   path,
		logger: logger,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gatepass",
			Subsystem: "extauthz",
			Name:      "policy_reloads_total",
			Help:      "Policy file reloads by result: success or failure (the previous policy stays in force).",
		}, []string{"result"}),
	}
	for _, result := range []string{"success", "failure"} {
		file.reloads.WithLabelValues(result)
	}
	file.current.Store(policy)
	if registerer != nil {
		if err := registerer.Register(file.reloads); err != nil {
			return nil, fmt.Errorf("policy: registering metrics: %w", err)
		}
	}
	return file, nil
}

// Current returns the policy in force.
func (f *File) Current() *Policy {
	return f.current.Load()
}

// Reload reads the file again and puts the new policy in force. When the
// file is invalid it keeps the current policy, logs why and returns the
// error. Checks running meanwhile use either the old or the new policy
// whole.
func (f *File) Reload() error {
	policy, err := Load(f.path)
	if err != nil {
		f.reloads.WithLabelValues("failure").Inc()
		f.logger.Error("reloading the policy failed, keeping the previous policy", "path", f.path, "error", err)
		return err
	}
	f.current.Store(policy)
	f.reloads.WithLabelValues("success").Inc()
	f.logger.Info("reloaded the policy", "path", f.path, "rules", len(policy.Rules), "default", policy.Default.Access)
	return nil
}
