package keys

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for the zero fields of Config.
const (
	DefaultTokenTTL         = 5 * time.Minute
	DefaultRotationPeriod   = 30 * 24 * time.Hour
	DefaultPublishAhead     = time.Hour
	DefaultRetirementMargin = 2 * time.Minute
	DefaultRefreshInterval  = 30 * time.Second
)

// Config sets how a Manager creates, rotates and retires keys. Zero fields
// take the defaults above.
type Config struct {
	// Algorithm is the JWS algorithm of new keys: ES256 (the default), RS256
	// or EdDSA. When it changes, the active key of the old algorithm is
	// replaced once its successor has been published for PublishAhead.
	Algorithm string

	// TokenTTL is the lifetime of the access tokens the keys sign. A retired
	// key stays published for TokenTTL plus RetirementMargin, so every token
	// it signed can still be verified until it expires.
	TokenTTL time.Duration

	// RotationPeriod is how long a key signs before its successor takes
	// over.
	RotationPeriod time.Duration

	// PublishAhead is how long a new key is published in the JWKS before it
	// signs. It must be at least the max-age for which verifiers cache the
	// JWKS, so they know the key before they see a token it signed, and
	// longer than RefreshInterval, so every issuer replica has loaded the key
	// when it activates.
	PublishAhead time.Duration

	// RetirementMargin is how much longer than TokenTTL a retired key stays
	// published. It covers the verifiers' clock leeway and clock differences
	// between replicas.
	RetirementMargin time.Duration

	// RefreshInterval is how often Run re-reads the keys from the store to
	// pick up changes made by other replicas and to rotate on schedule. A key
	// retired by Retire on another replica keeps signing here for up to this
	// long.
	RefreshInterval time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// Logger receives rotation events and refresh errors; nil means
	// slog.Default().
	Logger *slog.Logger

	// Registerer, if set, receives the Manager's Prometheus metrics:
	// gatepass_signing_key_rotations_total by reason and
	// gatepass_signing_key_refresh_failures_total.
	Registerer prometheus.Registerer
}

// withDefaults returns config with zero fields set to their defaults, or an
// error naming the first invalid setting.
func (config Config) withDefaults() (Config, error) {
	if config.Algorithm == "" {
		config.Algorithm = DefaultAlgorithm
	}
	if _, err := lookupAlgorithm(config.Algorithm); err != nil {
		return Config{}, err
	}

	durations := []struct {
		name     string
		value    *time.Duration
		fallback time.Duration
	}{
		{"token TTL", &config.TokenTTL, DefaultTokenTTL},
		{"rotation period", &config.RotationPeriod, DefaultRotationPeriod},
		{"publish-ahead time", &config.PublishAhead, DefaultPublishAhead},
		{"retirement margin", &config.RetirementMargin, DefaultRetirementMargin},
		{"refresh interval", &config.RefreshInterval, DefaultRefreshInterval},
	}
	for _, duration := range durations {
		if *duration.value < 0 {
			return Config{}, fmt.Errorf("signing key %s is %v: it must be positive, or zero for the default %v", duration.name, *duration.value, duration.fallback)
		}
		if *duration.value == 0 {
			*duration.value = duration.fallback
		}
	}

	if config.PublishAhead <= config.RefreshInterval {
		return Config{}, fmt.Errorf("signing key publish-ahead time %v must exceed the refresh interval %v, or replicas could miss the next key before it signs", config.PublishAhead, config.RefreshInterval)
	}
	if config.RotationPeriod <= config.PublishAhead {
		return Config{}, fmt.Errorf("signing key rotation period %v must exceed the publish-ahead time %v", config.RotationPeriod, config.PublishAhead)
	}

	if config.Now == nil {
		config.Now = time.Now
	}
	if config.Logger == nil {
		config.Logger = slog.Default()
	}
	return config, nil
}
