package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// pathAuthorizer allows requests for /allowed and denies every other.
type pathAuthorizer struct {
	authv3.UnimplementedAuthorizationServer
}

func (pathAuthorizer) Check(_ context.Context, request *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	if request.GetAttributes().GetRequest().GetHttp().GetPath() == "/allowed" {
		return &authv3.CheckResponse{
			Status:       &status.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
		}, nil
	}
	return &authv3.CheckResponse{
		Status: &status.Status{Code: int32(codes.PermissionDenied)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode_Forbidden},
		}},
	}, nil
}

// serveAuthorizer serves pathAuthorizer on a loopback port and returns its
// address.
func serveAuthorizer(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	authv3.RegisterAuthorizationServer(server, pathAuthorizer{})
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return listener.Addr().String()
}

// closedAddress returns a loopback address on which nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatal(err)
	}
	return address
}

func TestCheckExitStatus(t *testing.T) {
	sidecar := serveAuthorizer(t)
	closed := closedAddress(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "allowed", args: []string{"--addr", sidecar, "--path", "/allowed"}, wantCode: exitAllowed},
		{name: "denied", args: []string{"--addr", sidecar, "--path", "/denied"}, wantCode: exitDenied},
		{name: "sidecar unreachable", args: []string{"--addr", closed, "--path", "/allowed"}, wantCode: exitCheckFailed, wantStderr: "error:"},
		{name: "unknown flag", args: []string{"--addr", sidecar, "--bogus"}, wantCode: exitCheckFailed, wantStderr: "unknown flag: --bogus"},
		{name: "bad flag value", args: []string{"--addr", sidecar, "--timeout", "soon"}, wantCode: exitCheckFailed, wantStderr: "--timeout"},
		{name: "header without colon", args: []string{"--addr", sidecar, "--header", "nocolon"}, wantCode: exitCheckFailed, wantStderr: "must look like 'name: value'"},
		{name: "positional argument", args: []string{"--addr", sidecar, "/allowed"}, wantCode: exitCheckFailed, wantStderr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), append([]string{"check"}, tt.args...), &stdout, &stderr)
			if got != tt.wantCode {
				t.Errorf("exit status = %d, want %d (stderr %q)", got, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
