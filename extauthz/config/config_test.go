package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	for name, value := range env {
		t.Setenv(name, value)
	}
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c := Bind(flags)
	if err := flags.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, c.Load(flags)
}

func TestLoadPrecedence(t *testing.T) {
	c, err := load(t,
		[]string{"--issuer-url", "https://flag.test/", "--policy-file", "p.yaml"},
		map[string]string{
			"GATEPASS_ISSUER_URL":                     "https://env.test",
			"GATEPASS_EXTAUTHZ_LISTEN":                "127.0.0.1:7000",
			"GATEPASS_EXTAUTHZ_JWKS_REFETCH_INTERVAL": "2s",
			"GATEPASS_EXTAUTHZ_REMOVE_AUTHORIZATION":  "true",
			"GATEPASS_EXTAUTHZ_SUBJECT_HEADER":        "x-sub",
		})
	if err != nil {
		t.Fatalf("Load failed: %v", err)
	}

	if c.IssuerURL != "https://flag.test" {
		t.Errorf("IssuerURL = %q, want the flag value without trailing slash", c.IssuerURL)
	}
	if c.Audience != "https://flag.test" {
		t.Errorf("Audience = %q, want the issuer URL by default", c.Audience)
	}
	if c.Listen != "127.0.0.1:7000" {
		t.Errorf("Listen = %q, want the environment value", c.Listen)
	}
	if c.RefetchInterval != 2*time.Second {
		t.Errorf("RefetchInterval = %v, want 2s from the environment", c.RefetchInterval)
	}
	if !c.RemoveAuthorization {
		t.Error("RemoveAuthorization = false, want true from the environment")
	}
	if c.Headers.Subject != "x-sub" || c.Headers.ClientID != "x-auth-client-id" {
		t.Errorf("Headers = %+v, want x-sub and the other defaults", c.Headers)
	}
	if c.MetricsListen != ":9192" {
		t.Errorf("MetricsListen = %q, want the default :9192", c.MetricsListen)
	}
}

func TestLoadStaleness(t *testing.T) {
	required := []string{"--issuer-url", "https://issuer.test", "--policy-file", "p.yaml"}
	tests := []struct {
		name string
		args []string
		want time.Duration
	}{
		{name: "default", args: required, want: time.Hour},
		{name: "twice the refresh interval", args: append([]string{"--jwks-max-staleness", "10m"}, required...), want: 10 * time.Minute},
		{name: "short refresh interval", args: append([]string{"--jwks-max-staleness", "1m", "--jwks-refresh-interval", "30s"}, required...), want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, nil)
			if err != nil {
				t.Fatalf("Load failed: %v", err)
			}
			if c.MaxStaleness != tt.want {
				t.Errorf("MaxStaleness = %v, want %v", c.MaxStaleness, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	required := []string{"--issuer-url", "https://issuer.test", "--policy-file", "p.yaml"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "issuer URL missing", args: []string{"--policy-file", "p.yaml"}, want: "--issuer-url (GATEPASS_ISSUER_URL) is required"},
		{name: "policy file missing", args: []string{"--issuer-url", "https://issuer.test"}, want: "--policy-file (GATEPASS_POLICY_FILE) is required"},
		{name: "issuer URL relative", args: []string{"--issuer-url", "issuer.test", "--policy-file", "p"}, want: "absolute http or https URL"},
		{name: "bad duration in environment", args: required, env: map[string]string{"GATEPASS_EXTAUTHZ_LEEWAY": "soon"}, want: "$GATEPASS_EXTAUTHZ_LEEWAY"},
		{name: "leeway too long", args: append([]string{"--leeway", "1h"}, required...), want: "--leeway"},
		{name: "staleness below refetch", args: append([]string{"--jwks-max-staleness", "5s"}, required...), want: "--jwks-max-staleness"},
		{name: "staleness below refresh", args: append([]string{"--jwks-max-staleness", "20s", "--jwks-refresh-interval", "60s"}, required...), want: "must be at least twice --jwks-refresh-interval 1m0s"},
		{name: "staleness below twice refresh", args: append([]string{"--jwks-max-staleness", "9m"}, required...), want: "must be at least twice --jwks-refresh-interval 5m0s"},
		{name: "staleness from environment", args: required, env: map[string]string{"GATEPASS_EXTAUTHZ_JWKS_MAX_STALENESS": "1m"}, want: "--jwks-max-staleness 1m0s"},
		{name: "refetch above refresh", args: append([]string{"--jwks-refetch-interval", "1h"}, required...), want: "--jwks-refetch-interval"},
		{name: "small token cache", args: append([]string{"--token-cache-bytes", "10"}, required...), want: "--token-cache-bytes"},
		{name: "bad log level", args: append([]string{"--log-level", "loud"}, required...), want: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
