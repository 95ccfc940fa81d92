// Package server assembles the ext_authz sidecar from its parts and runs
// it: the gRPC server with the Authorization service, gRPC health and
// server reflection, the HTTP server for Prometheus metrics and health, the
// background JWK Set refresh, and policy reloads on SIGHUP.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/gatepass/gatepass/extauthz/authz"
	"github.com/gatepass/gatepass/extauthz/config"
	"github.com/gatepass/gatepass/extauthz/jwks"
	"github.com/gatepass/gatepass/extauthz/policy"
	"github.com/gatepass/gatepass/shared/verify"
)

// AuthorizationService is the gRPC health service name whose status reports
// whether checks can verify tokens: SERVING once keys are fetched and while
// they are within the maximum staleness. The empty service name reports
// SERVING whenever the process accepts calls.
const AuthorizationService = "envoy.service.auth.v3.Authorization"

// healthInterval is how often the readiness status is recomputed.
const healthInterval = time.Second

// Server is a configured sidecar with its listeners open.
type Server struct {
	config *config.Config
	logger *slog.Logger

	keys       *jwks.Cache
	authorizer *authz.Server
	policy     *policy.File
	health     *health.Server
	grpc       *grpc.Server
	metrics    *http.Server

	grpcListener    net.Listener
	metricsListener net.Listener
}

// New builds the sidecar from cfg and opens its listeners. It fails when the
// policy file is invalid or a port cannot be bound. It does not contact the
// issuer: Run fetches keys and keeps retrying while the issuer is down.
func New(cfg *config.Config, logger *slog.Logger) (*Server, error) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	policyFile, err := policy.Open(cfg.PolicyFile, logger, registry)
	if err != nil {
		return nil, err
	}

	keys, err := jwks.New(jwks.Options{
		IssuerURL:       cfg.IssuerURL,
		JWKSURL:         cfg.JWKSURL,
		RefreshInterval: cfg.RefreshInterval,
		RefetchInterval: cfg.RefetchInterval,
		MaxStaleness:    cfg.MaxStaleness,
		MaxKeys:         cfg.KeyCacheSize,
		Registerer:      registry,
		Logger:          logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{config: cfg, logger: logger, keys: keys, policy: policyFile}
	if err := s.build(registry); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// build creates the verifier, caches, servers and listeners.
func (s *Server) build(registry *prometheus.Registry) error {
	var err error
	s.authorizer, err = authz.New(authz.Options{
		Verification: verify.Config{
			Issuer:   s.config.IssuerURL,
			Audience: s.config.Audience,
			Leeway:   s.config.Leeway,
			AnyType:  s.config.AnyTokenType,
		},
		Keys:                s.keys,
		TokenCacheBytes:     s.config.TokenCacheBytes,
		Policy:              s.policy,
		Headers:             s.config.Headers,
		RemoveAuthorization: s.config.RemoveAuthorization,
		Registerer:          registry,
		Logger:              s.logger,
	})
	if err != nil {
		return err
	}

	s.grpc = grpc.NewServer(
		// Envoy pings idle HTTP/2 connections. The default policy closes a
		// connection with GOAWAY when pings come more often than every 5
		// minutes.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	authv3.RegisterAuthorizationServer(s.grpc, s.authorizer)
	s.health = health.NewServer()
	s.health.SetServingStatus(AuthorizationService, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)

	s.grpcListener, err = net.Listen("tcp", s.config.Listen)
	if err != nil {
		return fmt.Errorf("listening for gRPC on %s: %w", s.config.Listen, err)
	}

	if s.config.MetricsListen != "" {
		s.metrics = &http.Server{Handler: s.metricsHandler(registry), ReadHeaderTimeout: 10 * time.Second}
		s.metricsListener, err = net.Listen("tcp", s.config.MetricsListen)
		if err != nil {
			return fmt.Errorf("listening for metrics on %s: %w", s.config.MetricsListen, err)
		}
	}
	return nil
}

// GRPCAddr returns the address the gRPC server listens on.
func (s *Server) GRPCAddr() net.Addr { return s.grpcListener.Addr() }

// MetricsAddr returns the address of the metrics server, or nil when it is
// disabled.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsListener == nil {
		return nil
	}
	return s.metricsListener.Addr()
}

// ReloadPolicy rereads the policy file. An invalid file leaves the current
// policy in force.
func (s *Server) ReloadPolicy() error {
	return s.policy.Reload()
}

// Run serves until ctx ends, then stops gracefully within the configured
// shutdown timeout. SIGHUP reloads the policy meanwhile. It returns the
// error that stopped a server early, if any.
func (s *Server) Run(ctx context.Context) error {
	// Deferred first, so it runs last, once every goroutine has returned.
	defer func() { s.logger.Info("ext_authz sidecar stopped") }()
	defer s.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.keys.Run(ctx) })
	wg.Go(func() { s.watchReadiness(ctx) })
	wg.Go(func() { s.reloadOnSIGHUP(ctx) })

	failures := make(chan error, 2)
	go func() {
		if err := s.grpc.Serve(s.grpcListener); err != nil {
			failures <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	if s.metrics != nil {
		go func() {
			if err := s.metrics.Serve(s.metricsListener); !errors.Is(err, http.ErrServerClosed) {
				failures <- fmt.Errorf("metrics server: %w", err)
			}
		}()
	}
	metricsAddress := "disabled"
	if address := s.MetricsAddr(); address != nil {
		metricsAddress = address.String()
	}
	s.logger.Info("ext_authz sidecar started", "grpc", s.GRPCAddr().String(), "metrics", metricsAddress,
		"issuer", s.config.IssuerURL, "audience", s.config.Audience, "policy", s.config.PolicyFile)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failures:
		s.logger.Error("a server stopped, shutting down", "error", runErr)
	}
	cancel()
	s.shutdown()
	return runErr
}

// shutdown stops accepting calls and waits for those in flight, up to the
// shutdown timeout.
func (s *Server) shutdown() {
	s.logger.Info("ext_authz sidecar stopping", "timeout", s.config.ShutdownTimeout)
	s.health.Shutdown()

	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(s.config.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.logger.Warn("checks still in flight after the shutdown timeout, closing their connections")
		s.grpc.Stop()
	}

	if s.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.metrics.Shutdown(ctx)
	}
}

func (s *Server) close() {
	if s.authorizer != nil {
		s.authorizer.Close()
	}
	s.keys.Close()
	if s.grpcListener != nil {
		s.grpcListener.Close()
	}
	if s.metricsListener != nil {
		s.metricsListener.Close()
	}
}

// watchReadiness keeps the Authorization service's health status equal to
// whether usable keys are cached.
func (s *Server) watchReadiness(ctx context.Context) {
	ticker := time.NewTicker(healthInterval)
	defer ticker.Stop()
	ready := false
	for {
		if now := s.keys.Status().Ready; now != ready {
			ready = now
			s.setReadiness(ready)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// setReadiness sets the Authorization service's health status and logs the
// change. Losing readiness is a warning, because from then on every check
// that needs a token is denied.
func (s *Server) setReadiness(ready bool) {
	if ready {
		s.health.SetServingStatus(AuthorizationService, healthpb.HealthCheckResponse_SERVING)
		s.logger.Info("authorization ready: verification keys are cached", "ready", true)
		return
	}
	s.health.SetServingStatus(AuthorizationService, healthpb.HealthCheckResponse_NOT_SERVING)
	s.logger.Warn("authorization not ready: no verification keys within the maximum staleness, so checks that need a token are denied with 503 until a JWK Set fetch succeeds",
		"ready", false, "max_staleness", s.config.MaxStaleness)
}

func (s *Server) reloadOnSIGHUP(ctx context.Context) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGHUP)
	defer signal.Stop(signals)
	for {
		select {
		case <-ctx.Done():
			return
		case <-signals:
			// Reload logs its own outcome, and a failure keeps the old policy.
			_ = s.policy.Reload()
		}
	}
}

// metricsHandler serves /metrics, /health (the process runs) and
// /health/ready (usable keys are cached).
func (s *Server) metricsHandler(registry *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, _ *http.Request) {
		status := s.keys.Status()
		body := map[string]any{"status": "ok", "keys": status.Keys}
		if !status.RefreshedAt.IsZero() {
			body["keys_refreshed_at"] = status.RefreshedAt.UTC().Format(time.RFC3339)
		}
		code := http.StatusOK
		if !status.Ready {
			code = http.StatusServiceUnavailable
			body["status"] = "unavailable"
			body["detail"] = "no verification keys fetched within the maximum staleness"
		}
		writeJSON(w, code, body)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
