// Package checkclient sends one Check to a running ext_authz sidecar and
// prints the response, so operators can see how the policy treats a
// request.
package checkclient

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// Request describes the HTTP request to check.
type Request struct {
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string

	// Method, Path and Host are the request line and host. Path may carry
	// a query.
	Method string
	Path   string
	Host   string

	// Headers are further request headers. Names are lower-cased, as Envoy
	// sends them, and an "authorization" entry overrides Token.
	Headers map[string]string
}

// CheckRequest builds the CheckRequest Envoy would send for r.
func (r Request) CheckRequest() *authv3.CheckRequest {
	headers := make(map[string]string, len(r.Headers)+1)
	if r.Token != "" {
		headers["authorization"] = "Bearer " + r.Token
	}
	for name, value := range r.Headers {
		headers[strings.ToLower(name)] = value
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{
			Method:   r.Method,
			Path:     r.Path,
			Host:     r.Host,
			Scheme:   "http",
			Protocol: "HTTP/1.1",
			Headers:  headers,
		},
	}}}
}

// Check sends r to the sidecar at address over plaintext gRPC, the way
// Envoy reaches a sidecar on the same host or network.
func Check(ctx context.Context, address string, r Request) (*authv3.CheckResponse, error) {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connecting to the sidecar at %s: %w", address, err)
	}
	defer conn.Close()

	response, err := authv3.NewAuthorizationClient(conn).Check(ctx, r.CheckRequest())
	if err != nil {
		return nil, fmt.Errorf("Check call to %s failed: %w", address, err)
	}
	return response, nil
}

// Allowed reports whether response lets the request through.
func Allowed(response *authv3.CheckResponse) bool {
	return codes.Code(response.GetStatus().GetCode()) == codes.OK
}

// Print writes the decision and the headers of response to w.
func Print(w io.Writer, response *authv3.CheckResponse) {
	code := codes.Code(response.GetStatus().GetCode())
	if ok := response.GetOkResponse(); Allowed(response) {
		fmt.Fprintf(w, "decision: ALLOW (gRPC %s)\n", code)
		set := map[string]string{}
		for _, header := range ok.GetHeaders() {
			set[header.GetHeader().GetKey()] = header.GetHeader().GetValue()
		}
		printHeaders(w, "upstream headers set:", set)
		if removed := ok.GetHeadersToRemove(); len(removed) > 0 {
			fmt.Fprintf(w, "upstream headers removed: %s\n", strings.Join(removed, ", "))
		}
		return
	}

	denied := response.GetDeniedResponse()
	if denied == nil {
		denied = response.GetErrorResponse()
	}
	fmt.Fprintf(w, "decision: DENY %d (gRPC %s)\n", denied.GetStatus().GetCode(), code)
	if message := response.GetStatus().GetMessage(); message != "" {
		fmt.Fprintf(w, "reason: %s\n", message)
	}
	headers := map[string]string{}
	for _, header := range denied.GetHeaders() {
		headers[header.GetHeader().GetKey()] = header.GetHeader().GetValue()
	}
	printHeaders(w, "response headers:", headers)
	if body := denied.GetBody(); body != "" {
		fmt.Fprintf(w, "body: %s\n", body)
	}
}

func printHeaders(w io.Writer, title string, headers map[string]string) {
	if len(headers) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		fmt.Fprintf(w, "  %s: %s\n", name, headers[name])
	}
}
