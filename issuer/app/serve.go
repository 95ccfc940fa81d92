package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatepass/gatepass/issuer/api"
	"github.com/gatepass/gatepass/issuer/lastused"
	"github.com/gatepass/gatepass/issuer/ratelimit"
)

// HTTP server limits. Requests to the issuer are small; the timeouts stop
// slow clients from holding connections.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 32 << 10
)

// Handler builds the HTTP handler of the issuer: the API plus /metrics.
// The returned recorder must run for last-use times to reach storage.
func (i *Issuer) Handler() (http.Handler, *lastused.Recorder, error) {
	cfg := i.Config
	recorder := lastused.NewRecorder(i.Store, cfg.LastUsedFlush, i.Logger)

	server, err := api.New(api.Config{
		IssuerURL:            cfg.IssuerURL,
		Audience:             cfg.Audience,
		TokenTTL:             cfg.TokenTTL,
		RefreshTTL:           cfg.RefreshTokenTTL,
		RefreshGrace:         cfg.RefreshGrace,
		CookieName:           cfg.CookieName,
		AdminToken:           cfg.AdminToken,
		MaxCredentialDays:    cfg.MaxCredentialDays,
		MaxActiveCredentials: cfg.MaxCredentials,
		SigningAlgorithm:     cfg.SigningAlgorithm,
		JWKSMaxAge:           cfg.JWKSMaxAge,
		TrustedProxies:       cfg.TrustedProxies,
	}, api.Deps{
		Store:   i.Store,
		Signer:  i.Keys,
		Keys:    i.Keys,
		Sealer:  i.KEK,
		Secrets: i.Secrets,
		Limiter: ratelimit.New(ratelimit.DefaultConfig()),
		Usage:   recorder,
		Metrics: api.NewMetrics(i.Registry),
		Logger:  i.Logger,
	})
	if err != nil {
		return nil, nil, err
	}
	apiHandler, err := server.Handler()
	if err != nil {
		return nil, nil, err
	}

	i.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(i.Registry, promhttp.HandlerOpts{}))
	mux.Handle("/", apiHandler)
	return mux, recorder, nil
}

// Serve runs the issuer on cfg.Listen until ctx ends, then drains requests
// in flight and flushes pending last-use times.
func (i *Issuer) Serve(ctx context.Context) error {
	listener, err := net.Listen("tcp", i.Config.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (is another process using the port? set GATEPASS_LISTEN)", i.Config.Listen, err)
	}
	return i.ServeListener(ctx, listener)
}

// ServeListener is Serve on an open listener.
func (i *Issuer) ServeListener(ctx context.Context, listener net.Listener) error {
	handler, recorder, err := i.Handler()
	if err != nil {
		listener.Close()
		return err
	}

	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var loops sync.WaitGroup
	loops.Go(func() { recorder.Run(background) })
	loops.Go(func() { i.Keys.Run(background) })

	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          nil,
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	i.Logger.Info("issuer started", "listen", listener.Addr().String(), "issuer_url", i.Config.IssuerURL, "storage", storageKind(i.Config.IsPostgres()))

	select {
	case err = <-served:
	case <-ctx.Done():
		i.Logger.Info("issuer stopping, draining requests", "timeout", i.Config.ShutdownTimeout)
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), i.Config.ShutdownTimeout)
		err = server.Shutdown(shutdownCtx)
		cancel()
	}

	stopBackground()
	loops.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	i.Logger.Info("issuer stopped")
	return err
}

func storageKind(postgres bool) string {
	if postgres {
		return "postgres"
	}
	return "sqlite"
}
