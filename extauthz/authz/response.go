package authz

import (
	"encoding/json"
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// response turns d into the CheckResponse Envoy acts on.
func (s *Server) response(d decision) *authv3.CheckResponse {
	if d.allow {
		ok := s.publicOK
		if d.identity != nil {
			ok = d.identity.ok
		}
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(grpcCode(d.status)), Message: d.detail},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: deniedResponse(d)},
	}
}

func setHeader(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// deniedResponse builds the HTTP response of a denial: the status, an RFC 6750
// challenge where one applies, and a JSON body {"detail": "..."}.
func deniedResponse(d decision) *authv3.DeniedHttpResponse {
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{Detail: d.detail})

	headers := []*corev3.HeaderValueOption{
		setHeader("content-type", "application/json"),
		setHeader("cache-control", "no-store"),
	}
	if d.challenge {
		headers = append(headers, setHeader("www-authenticate", challenge(d)))
	}
	return &authv3.DeniedHttpResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode(d.status)},
		Headers: headers,
		Body:    string(body),
	}
}

// challenge formats the WWW-Authenticate value of d (RFC 6750, section 3).
func challenge(d decision) string {
	if d.errorCode == "" {
		return "Bearer"
	}
	var b strings.Builder
	b.WriteString(`Bearer error="`)
	b.WriteString(d.errorCode)
	b.WriteString(`", error_description="`)
	b.WriteString(challengeText(d.detail))
	b.WriteByte('"')
	if d.scope != "" {
		b.WriteString(`, scope="`)
		b.WriteString(challengeText(d.scope))
		b.WriteByte('"')
	}
	return b.String()
}

// grpcCode maps the HTTP status of a denial to the gRPC status of the
// CheckResponse.
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}
