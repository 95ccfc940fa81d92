// Package config holds the ext_authz sidecar's settings. Each one is a
// command-line flag with an environment variable behind it: a flag given on
// the command line wins, then the variable, then the built-in default.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatepass/gatepass/extauthz/authz"
	"github.com/gatepass/gatepass/extauthz/jwks"
	"github.com/gatepass/gatepass/extauthz/tokencache"
	"github.com/gatepass/gatepass/shared/logging"
)

// envAnnotation is the flag annotation that names a flag's variable.
const envAnnotation = "gatepass_env"

// Config holds every sidecar setting.
type Config struct {
	Listen              string
	MetricsListen       string
	IssuerURL           string
	JWKSURL             string
	Audience            string
	PolicyFile          string
	Leeway              time.Duration
	AnyTokenType        bool
	TokenCacheBytes     int64
	KeyCacheSize        int
	RefreshInterval     time.Duration
	RefetchInterval     time.Duration
	MaxStaleness        time.Duration
	Headers             authz.HeaderNames
	RemoveAuthorization bool
	ShutdownTimeout     time.Duration
	LogLevel            string
	LogFormat           string
}

// Bind registers a flag for every setting on flags and returns the Config
// they fill. Call Load after the flags are parsed.
func Bind(flags *pflag.FlagSet) *Config {
	c := &Config{}
	defaults := authz.DefaultHeaderNames()
	b := binder{flags: flags}

	b.string(&c.Listen, "listen", "GATEPASS_EXTAUTHZ_LISTEN", ":9191", "address the gRPC server (Check, health, reflection) listens on, host:port")
	b.string(&c.MetricsListen, "metrics-listen", "GATEPASS_EXTAUTHZ_METRICS_LISTEN", ":9192", "address of the HTTP server for /metrics, /health and /health/ready; empty disables it")
	b.string(&c.IssuerURL, "issuer-url", "GATEPASS_ISSUER_URL", "", "issuer URL: the iss every token must carry, and where discovery finds the JWK Set unless --jwks-url is set (required)")
	b.string(&c.JWKSURL, "jwks-url", "GATEPASS_JWKS_URL", "", "URL of the issuer's JWK Set; empty means read jwks_uri from the issuer's discovery document")
	b.string(&c.Audience, "audience", "GATEPASS_AUDIENCE", "", "aud every token must carry (default: the issuer URL, as the issuer does)")
	b.string(&c.PolicyFile, "policy-file", "GATEPASS_POLICY_FILE", "", "path of the YAML policy file; SIGHUP reloads it (required)")
	flags.DurationVar(&c.Leeway, "leeway", 30*time.Second, "clock skew tolerated on exp, nbf and iat")
	b.annotate("leeway", "GATEPASS_EXTAUTHZ_LEEWAY")
	flags.BoolVar(&c.AnyTokenType, "any-token-type", false, "accept tokens whose typ header is not at+jwt, for issuers that do not follow RFC 9068")
	b.annotate("any-token-type", "GATEPASS_EXTAUTHZ_ANY_TOKEN_TYPE")
	flags.Int64Var(&c.TokenCacheBytes, "token-cache-bytes", tokencache.DefaultMaxCost, "memory bound of the verified-token cache, in bytes")
	b.annotate("token-cache-bytes", "GATEPASS_EXTAUTHZ_TOKEN_CACHE_BYTES")
	flags.IntVar(&c.KeyCacheSize, "key-cache-size", jwks.DefaultMaxKeys, "largest number of verification keys kept; a larger JWK Set is rejected")
	b.annotate("key-cache-size", "GATEPASS_EXTAUTHZ_KEY_CACHE_SIZE")
	flags.DurationVar(&c.RefreshInterval, "jwks-refresh-interval", jwks.DefaultRefreshInterval, "background JWK Set refresh period when the issuer sends no Cache-Control max-age, and the upper bound on one it sends")
	b.annotate("jwks-refresh-interval", "GATEPASS_EXTAUTHZ_JWKS_REFRESH_INTERVAL")
	flags.DurationVar(&c.RefetchInterval, "jwks-refetch-interval", jwks.DefaultRefetchInterval, "shortest time between JWK Set fetches caused by unknown key ids, and the longest retry wait while the issuer is down")
	b.annotate("jwks-refetch-interval", "GATEPASS_EXTAUTHZ_JWKS_REFETCH_INTERVAL")
	flags.DurationVar(&c.MaxStaleness, "jwks-max-staleness", jwks.DefaultMaxStaleness, "how long the last good keys keep serving while the issuer is unreachable, at least twice --jwks-refresh-interval; after that checks are denied with 503")
	b.annotate("jwks-max-staleness", "GATEPASS_EXTAUTHZ_JWKS_MAX_STALENESS")
	b.string(&c.Headers.Subject, "subject-header", "GATEPASS_EXTAUTHZ_SUBJECT_HEADER", defaults.Subject, "upstream header that carries the token's sub")
	b.string(&c.Headers.ClientID, "client-id-header", "GATEPASS_EXTAUTHZ_CLIENT_ID_HEADER", defaults.ClientID, "upstream header that carries the token's client_id")
	b.string(&c.Headers.Scopes, "scopes-header", "GATEPASS_EXTAUTHZ_SCOPES_HEADER", defaults.Scopes, "upstream header that carries the token's scopes, space-separated")
	b.string(&c.Headers.CredentialID, "credential-id-header", "GATEPASS_EXTAUTHZ_CREDENTIAL_ID_HEADER", defaults.CredentialID, "upstream header that carries the token's credential_id")
	flags.BoolVar(&c.RemoveAuthorization, "remove-authorization", false, "remove the Authorization header from allowed requests, so upstreams never see tokens")
	b.annotate("remove-authorization", "GATEPASS_EXTAUTHZ_REMOVE_AUTHORIZATION")
	flags.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a stopping sidecar waits for checks in flight")
	b.annotate("shutdown-timeout", "GATEPASS_EXTAUTHZ_SHUTDOWN_TIMEOUT")
	b.string(&c.LogLevel, "log-level", "GATEPASS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	b.string(&c.LogFormat, "log-format", "GATEPASS_LOG_FORMAT", "text", "log format: text or json")
	return c
}

// Load fills every flag that was not given on the command line from its
// environment variable, then validates the result and derives defaults.
func (c *Config) Load(flags *pflag.FlagSet) error {
	var problems []error
	flags.VisitAll(func(flag *pflag.Flag) {
		names := flag.Annotations[envAnnotation]
		if flag.Changed || len(names) == 0 {
			return
		}
		value, set := os.LookupEnv(names[0])
		if !set {
			return
		}
		if err := flags.Set(flag.Name, value); err != nil {
			problems = append(problems, fmt.Errorf("$%s=%q: %w", names[0], value, err))
		}
	})
	if err := errors.Join(problems...); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks the settings and fills derived defaults.
func (c *Config) Validate() error {
	var problems []error
	if c.IssuerURL == "" {
		problems = append(problems, errors.New("--issuer-url (GATEPASS_ISSUER_URL) is required: set it to the issuer's public URL, the iss of its tokens"))
	} else if err := validateURL(c.IssuerURL); err != nil {
		problems = append(problems, fmt.Errorf("--issuer-url: %w", err))
	}
	c.IssuerURL = strings.TrimSuffix(c.IssuerURL, "/")
	if c.Audience == "" {
		c.Audience = c.IssuerURL
	}
	if c.JWKSURL != "" {
		if err := validateURL(c.JWKSURL); err != nil {
			problems = append(problems, fmt.Errorf("--jwks-url: %w", err))
		}
	}

	if c.PolicyFile == "" {
		problems = append(problems, errors.New("--policy-file (GATEPASS_POLICY_FILE) is required: see deploy/envoy/policy.yaml for an example"))
	}
	if c.Listen == "" {
		problems = append(problems, errors.New("--listen must not be empty"))
	}

	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		problems = append(problems, fmt.Errorf("--leeway %v must be between 0 and 5m", c.Leeway))
	}
	if c.TokenCacheBytes < 1<<20 {
		problems = append(problems, fmt.Errorf("--token-cache-bytes %d must be at least 1048576 (1 MiB)", c.TokenCacheBytes))
	}
	if c.KeyCacheSize < 1 {
		problems = append(problems, fmt.Errorf("--key-cache-size %d must be at least 1", c.KeyCacheSize))
	}

	if c.RefetchInterval <= 0 || c.RefetchInterval > c.RefreshInterval {
		problems = append(problems, fmt.Errorf("--jwks-refetch-interval %v must be positive and at most --jwks-refresh-interval %v", c.RefetchInterval, c.RefreshInterval))
	}
	// The keys are refreshed once per refresh interval at most, so a shorter
	// staleness makes a sidecar lose its keys between two successful
	// refreshes. Twice the interval leaves room for the retries of one
	// failed refresh.
	if minStaleness := 2 * c.RefreshInterval; c.MaxStaleness < minStaleness {
		problems = append(problems, fmt.Errorf("--jwks-max-staleness %v must be at least twice --jwks-refresh-interval %v (%v), so the keys are refreshed before they go stale: raise --jwks-max-staleness or lower --jwks-refresh-interval",
			c.MaxStaleness, c.RefreshInterval, minStaleness))
	}

	if c.ShutdownTimeout <= 0 {
		problems = append(problems, fmt.Errorf("--shutdown-timeout %v must be positive", c.ShutdownTimeout))
	}
	if _, err := c.Logger(); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

func validateURL(raw string) error {
	parsed, err := url.Parse(raw)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" {
		return fmt.Errorf("%q must be an absolute http or https URL without query or fragment", raw)
	}
	return nil
}

// Logger builds the process logger from LogLevel and LogFormat.
func (c *Config) Logger() (*slog.Logger, error) {
	return logging.New(os.Stderr, c.LogLevel, c.LogFormat)
}

// binder registers flags and records the environment variable of each.
type binder struct {
	flags *pflag.FlagSet
}

func (b binder) string(target *string, name, env, fallback, help string) {
	b.flags.StringVar(target, name, fallback, help)
	b.annotate(name, env)
}

// annotate records env as the variable behind flag name and names it in
// the help text.
func (b binder) annotate(name, env string) {
	flag := b.flags.Lookup(name)
	flag.Usage += " [$" + env + "]"
	_ = b.flags.SetAnnotation(name, envAnnotation, []string{env})
}
