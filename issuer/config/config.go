// Package config holds the issuer's settings and binds each one to a
// command-line flag and an environment variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatepass/gatepass/shared/logging"

	"github.com/gatepass/gatepass/issuer/secret"
)

// minAdminTokenLength is the shortest accepted administrator token, so the
// header cannot be guessed.
const minAdminTokenLength = 24

// Config holds every issuer setting.
type Config struct {
	IssuerURL         string
	Listen            string
	DatabaseURL       string
	AdminToken        string
	Audience          string
	TokenTTL          time.Duration
	SigningAlgorithm  string
	KeyEncryptionKey  string
	KeyRotationPeriod time.Duration
	KeyRefresh        time.Duration
	SecretPrefix      string
	MaxCredentialDays int
	MaxCredentials    int
	RefreshTokenTTL   time.Duration
	RefreshGrace      time.Duration
	CookieName        string
	JWKSMaxAge        time.Duration
	TrustedProxies    []string
	LastUsedFlush     time.Duration
	ShutdownTimeout   time.Duration
	LogLevel          string
	LogFormat         string

	// envProblems holds environment values that could not be parsed.
	envProblems []error
}

// Bind registers a flag for every setting on flags. A flag's default is
// its environment variable when set, else the built-in default, so the
// order of precedence is flag, then environment, then default.
func Bind(flags *pflag.FlagSet) *Config {
	c := &Config{}
	b := binder{flags: flags, problems: &c.envProblems}
	b.string(&c.IssuerURL, "issuer-url", "GATEPASS_ISSUER_URL", "http://localhost:8080", "public base URL of the issuer: the iss claim of every token and the base of discovery URLs")
	b.string(&c.Listen, "listen", "GATEPASS_LISTEN", ":8080", "address the HTTP API listens on, host:port")
	b.string(&c.DatabaseURL, "database-url", "GATEPASS_DATABASE_URL", "./data/gatepass.db", "a postgres:// URL selects PostgreSQL; anything else is the path of an SQLite file")
	b.string(&c.AdminToken, "admin-token", "GATEPASS_ADMIN_TOKEN", "", "secret that the X-Admin-Token header must carry for administrator access; empty disables the header (prefer the environment variable: flags are visible to other local users)")
	b.string(&c.Audience, "audience", "GATEPASS_AUDIENCE", "", "aud claim of access tokens (default: the issuer URL)")
	b.duration(&c.TokenTTL, "token-ttl", "GATEPASS_TOKEN_TTL", 5*time.Minute, "lifetime of access tokens, a Go duration such as 5m")
	b.string(&c.SigningAlgorithm, "signing-alg", "GATEPASS_SIGNING_ALG", "ES256", "JWS algorithm of new signing keys: ES256, RS256 or EdDSA")
	b.string(&c.KeyEncryptionKey, "key-encryption-key", "GATEPASS_KEY_ENCRYPTION_KEY", "", "base64 of 32 random bytes that encrypt signing keys at rest; required with PostgreSQL; with SQLite the default is a key file created beside the database")
	b.duration(&c.KeyRotationPeriod, "key-rotation-period", "GATEPASS_KEY_ROTATION_PERIOD", 30*24*time.Hour, "how long a signing key signs before the next one takes over, a Go duration")
	b.duration(&c.KeyRefresh, "key-refresh-interval", "GATEPASS_KEY_REFRESH_INTERVAL", 30*time.Second, "how often the issuer re-reads signing keys from storage, so it picks up rotations done by another replica or by the keys command")
	b.string(&c.SecretPrefix, "secret-prefix", "GATEPASS_SECRET_PREFIX", "gp", "prefix of credential secrets, which lets secret scanners recognise them")
	b.int(&c.MaxCredentialDays, "max-credential-days", "GATEPASS_MAX_CREDENTIAL_DAYS", 0, "longest credential lifetime in days, also applied to credentials requested without expiry; 0 means no cap")
	b.int(&c.MaxCredentials, "max-credentials-per-client", "GATEPASS_MAX_CREDENTIALS_PER_CLIENT", 100, "most active credentials one client may have through the API; 0 means no cap")
	b.duration(&c.RefreshTokenTTL, "refresh-token-ttl", "GATEPASS_REFRESH_TOKEN_TTL", 30*24*time.Hour, "lifetime of refresh tokens, a Go duration")
	b.duration(&c.RefreshGrace, "refresh-grace", "GATEPASS_REFRESH_GRACE", 5*time.Second, "how long a spent refresh token still returns its replacement, for concurrent refreshes")
	b.string(&c.CookieName, "cookie-name", "GATEPASS_COOKIE_NAME", "access_token", "name of the cookie that /token?set_cookie=true sets and /me reads")
	b.duration(&c.JWKSMaxAge, "jwks-max-age", "GATEPASS_JWKS_MAX_AGE", 5*time.Minute, "max-age of the /jwks response; keys are published at least twice this long before they sign")
	b.stringSlice(&c.TrustedProxies, "trusted-proxies", "GATEPASS_TRUSTED_PROXIES", nil, "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is trusted for the client address (empty: use the connection's address)")
	b.duration(&c.LastUsedFlush, "last-used-flush", "GATEPASS_LAST_USED_FLUSH", 10*time.Second, "how often credential last-use times are written to storage")
	b.duration(&c.ShutdownTimeout, "shutdown-timeout", "GATEPASS_SHUTDOWN_TIMEOUT", 15*time.Second, "how long a stopping server waits for requests in flight")
	b.string(&c.LogLevel, "log-level", "GATEPASS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	b.string(&c.LogFormat, "log-format", "GATEPASS_LOG_FORMAT", "text", "log format: text or json")
	return c
}

// Validate checks the settings and fills derived defaults.
func (c *Config) Validate() error {
	problems := append([]error(nil), c.envProblems...)
	problems = append(problems, c.validateIssuer()...)
	problems = append(problems, c.validateKeys()...)
	problems = append(problems, c.validateLimits()...)
	problems = append(problems, c.validateSecrets()...)
	return errors.Join(problems...)
}

// validateIssuer checks the issuer URL and fills the audience from it.
func (c *Config) validateIssuer() []error {
	var problems []error
	issuer, err := url.Parse(c.IssuerURL)
	if err != nil || (issuer.Scheme != "http" && issuer.Scheme != "https") || issuer.Host == "" || issuer.RawQuery != "" || issuer.Fragment != "" {
		problems = append(problems, fmt.Errorf("--issuer-url %q must be an absolute http or https URL without query or fragment", c.IssuerURL))
	}
	c.IssuerURL = strings.TrimSuffix(c.IssuerURL, "/")
	if c.Audience == "" {
		c.Audience = c.IssuerURL
	}
	return problems
}

// validateKeys checks the signing key settings.
func (c *Config) validateKeys() []error {
	var problems []error
	switch c.SigningAlgorithm {
	case "ES256", "RS256", "EdDSA":
	default:
		problems = append(problems, fmt.Errorf("--signing-alg %q is not supported: use ES256, RS256 or EdDSA", c.SigningAlgorithm))
	}
	if c.KeyRotationPeriod < time.Hour {
		problems = append(problems, fmt.Errorf("--key-rotation-period %v must be at least 1h", c.KeyRotationPeriod))
	}
	if c.KeyRefresh < time.Second || c.KeyRefresh >= 2*c.JWKSMaxAge {
		problems = append(problems, fmt.Errorf("--key-refresh-interval %v must be at least 1s and shorter than twice --jwks-max-age (%v)", c.KeyRefresh, 2*c.JWKSMaxAge))
	}
	if c.IsPostgres() && c.KeyEncryptionKey == "" {
		problems = append(problems, errors.New("GATEPASS_KEY_ENCRYPTION_KEY is required with PostgreSQL, because every replica must decrypt the same signing keys; generate one with: head -c 32 /dev/urandom | base64"))
	}
	return problems
}

// validateLimits checks lifetimes, caps and intervals.
func (c *Config) validateLimits() []error {
	var problems []error
	if c.TokenTTL < 10*time.Second || c.TokenTTL > 24*time.Hour {
		problems = append(problems, fmt.Errorf("--token-ttl %v must be between 10s and 24h", c.TokenTTL))
	}
	if c.MaxCredentials < 0 {
		problems = append(problems, fmt.Errorf("--max-credentials-per-client %d must not be negative", c.MaxCredentials))
	}
	if c.MaxCredentialDays < 0 {
		problems = append(problems, fmt.Errorf("--max-credential-days %d must not be negative", c.MaxCredentialDays))
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > time.Minute {
		problems = append(problems, fmt.Errorf("--refresh-grace %v must be between 0 and 1m", c.RefreshGrace))
	}
	if c.LastUsedFlush <= 0 {
		problems = append(problems, fmt.Errorf("--last-used-flush %v must be positive", c.LastUsedFlush))
	}
	return problems
}

// validateSecrets checks the secret prefix and the admin token.
func (c *Config) validateSecrets() []error {
	var problems []error
	if err := secret.ValidatePrefix(c.SecretPrefix); err != nil {
		problems = append(problems, fmt.Errorf("--secret-prefix: %w", err))
	}
	if c.AdminToken != "" && len(c.AdminToken) < minAdminTokenLength {
		problems = append(problems, fmt.Errorf("GATEPASS_ADMIN_TOKEN is %d characters long, the minimum is %d; generate one with: head -c 32 /dev/urandom | base64", len(c.AdminToken), minAdminTokenLength))
	}
	return problems
}

// IsPostgres reports whether DatabaseURL selects PostgreSQL.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// KeyFilePath returns the path of the embedded default's key-encryption
// key file, beside the SQLite database.
func (c *Config) KeyFilePath() string {
	return filepath.Join(filepath.Dir(c.DatabaseURL), "kek")
}

// Logger builds the process logger from LogLevel and LogFormat.
func (c *Config) Logger() (*slog.Logger, error) {
	return logging.New(os.Stderr, c.LogLevel, c.LogFormat)
}

// binder registers flags whose defaults come from the environment.
type binder struct {
	flags    *pflag.FlagSet
	problems *[]error
}

func (b binder) usage(env, help string) string {
	return help + " [$" + env + "]"
}

func (b binder) string(target *string, name, env, fallback, help string) {
	if value, ok := os.LookupEnv(env); ok {
		fallback = value
	}
	b.flags.StringVar(target, name, fallback, b.usage(env, help))
	if name == "admin-token" || name == "key-encryption-key" {
		// Keep secrets from the environment out of --help output.
		b.flags.Lookup(name).DefValue = ""
	}
}

func (b binder) stringSlice(target *[]string, name, env string, fallback []string, help string) {
	if value, ok := os.LookupEnv(env); ok && value != "" {
		fallback = strings.Split(value, ",")
	}
	b.flags.StringSliceVar(target, name, fallback, b.usage(env, help))
}

func (b binder) duration(target *time.Duration, name, env string, fallback time.Duration, help string) {
	if value, ok := os.LookupEnv(env); ok {
		parsed, err := time.ParseDuration(value)
		if err != nil {
			b.deferError(name, fmt.Errorf("$%s=%q is not a Go duration such as 5m or 720h", env, value))
		} else {
			fallback = parsed
		}
	}
	b.flags.DurationVar(target, name, fallback, b.usage(env, help))
}

func (b binder) int(target *int, name, env string, fallback int, help string) {
	if value, ok := os.LookupEnv(env); ok {
		parsed, err := strconv.Atoi(value)
		if err != nil {
			b.deferError(name, fmt.Errorf("$%s=%q is not an integer", env, value))
		} else {
			fallback = parsed
		}
	}
	b.flags.IntVar(target, name, fallback, b.usage(env, help))
}

func (b binder) deferError(name string, err error) {
	*b.problems = append(*b.problems, fmt.Errorf("--%s: %w", name, err))
}
