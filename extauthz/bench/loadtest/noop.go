package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/reflection"
)

// noopAuthorizer allows every request without looking at it. Its throughput
// is the ceiling of any Authorization server on the same gRPC stack.
type noopAuthorizer struct {
	authv3.UnimplementedAuthorizationServer
}

func (noopAuthorizer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
	}, nil
}

// serveNoop serves noopAuthorizer, with reflection for ghz, on address
// until the process receives SIGINT or SIGTERM.
func serveNoop(address string) error {
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return err
	}
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, noopAuthorizer{})
	reflection.Register(server)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		server.Stop()
	}()
	return server.Serve(listener)
}

// startNoop runs this program again as a no-op server in its own process,
// as the sidecar runs in its own, and waits until it responds to a Check.
func startNoop() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	address, err := freeAddress()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "--noop-listen", address)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stop()
		return "", nil, err
	}
	defer conn.Close()
	if _, err := authv3.NewAuthorizationClient(conn).Check(ctx, &authv3.CheckRequest{}, grpc.WaitForReady(true)); err != nil {
		stop()
		return "", nil, fmt.Errorf("no-op server at %s not ready: %w", address, err)
	}
	return address, stop, nil
}
