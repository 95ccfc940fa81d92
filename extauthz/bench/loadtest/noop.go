package main

import (
	"context"
	"net"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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

// startNoop serves noopAuthorizer, with reflection for ghz, on a loopback
// port and returns its address and a function that stops it.
func startNoop() (string, func(), error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, noopAuthorizer{})
	reflection.Register(server)
	go func() { _ = server.Serve(listener) }()
	return listener.Addr().String(), server.Stop, nil
}
