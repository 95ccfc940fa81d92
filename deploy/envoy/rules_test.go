package envoyconfig_test

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Names and ports the deployment is built around.
const (
	listenerPort = 8000

	issuerCluster   = "issuer"
	extAuthzCluster = "extauthz"
	upstreamCluster = "upstream"

	// issuerDefaultPort is the port cmd/issuer listens on unless configured.
	issuerDefaultPort = 8080
	// extAuthzDefaultPort is the port cmd/extauthz listens on unless configured.
	extAuthzDefaultPort = 9191

	connectionManagerFilter = "envoy.filters.network.http_connection_manager"
	// extAuthzFilter is the HTTP filter name, which is also the key that
	// typed_per_filter_config entries use to reach the filter.
	extAuthzFilter = "envoy.filters.http.ext_authz"
	routerFilter   = "envoy.filters.http.router"

	// maxExtAuthzTimeout bounds how long a stalled sidecar may hold a request.
	maxExtAuthzTimeout = time.Second

	// authorizationHealthService is the gRPC health service name for which
	// the sidecar reports SERVING only while it holds usable keys.
	authorizationHealthService = "envoy.service.auth.v3.Authorization"
)

// identityHeaders are the request headers the sidecar sets for the upstream
// on an allowed request.
var identityHeaders = []string{"x-auth-subject", "x-auth-client-id", "x-auth-scopes", "x-auth-credential-id"}

// sidecarMutableHeaders are the request headers an OK response from the
// sidecar may set or remove: the identity headers and Authorization.
var sidecarMutableHeaders = append(slices.Clone(identityHeaders), "authorization")

// protectedHeaders are request headers the sidecar must never be able to
// change, a sample used to check the mutation rules.
var protectedHeaders = []string{"host", "cookie", "x-forwarded-for", "x-envoy-original-path", "x-auth-subject-override", "x-user"}

// issuerRouteMatches are the issuer endpoints that must reach the issuer
// without ext_authz, because the issuer authenticates them itself.
var issuerRouteMatches = []*routev3.RouteMatch{
	{PathSpecifier: &routev3.RouteMatch_Path{Path: "/token"}},
	{PathSpecifier: &routev3.RouteMatch_Path{Path: "/jwks"}},
	{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/.well-known/"}},
	{PathSpecifier: &routev3.RouteMatch_Path{Path: "/me"}},
	{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: "/health"}},
	{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/clients/"}},
}

// catchAllMatch matches every request path.
var catchAllMatch = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}

// findings collects every rule violation, so one run names all of them.
type findings []error

func (f *findings) addf(format string, args ...any) {
	*f = append(*f, fmt.Errorf(format, args...))
}

// checkEnvoyRules checks the properties of a parsed bootstrap that gatepass
// relies on and that Envoy's schema alone does not enforce.
func checkEnvoyRules(bootstrap *bootstrapv3.Bootstrap) error {
	var f findings
	checkAdmin(&f, bootstrap.GetAdmin())

	clusters := clustersByName(&f, bootstrap.GetStaticResources().GetClusters())
	checkClusters(&f, clusters)

	manager := connectionManager(&f, bootstrap.GetStaticResources().GetListeners())
	if manager != nil {
		checkConnectionManager(&f, manager)
		checkHTTPFilters(&f, manager.GetHttpFilters(), clusters)
		checkRoutes(&f, manager.GetRouteConfig(), clusters)
	}
	return errors.Join(f...)
}

func checkAdmin(f *findings, admin *bootstrapv3.Admin) {
	address := admin.GetAddress().GetSocketAddress().GetAddress()
	if admin == nil || address == "" {
		return
	}
	if ip := net.ParseIP(address); ip == nil || !ip.IsLoopback() {
		f.addf("admin: listens on %q; bind it to 127.0.0.1, because the admin interface has no authentication and can change Envoy's state", address)
	}
}

func clustersByName(f *findings, clusters []*clusterv3.Cluster) map[string]*clusterv3.Cluster {
	byName := make(map[string]*clusterv3.Cluster, len(clusters))
	for _, cluster := range clusters {
		if _, duplicate := byName[cluster.GetName()]; duplicate {
			f.addf("clusters: cluster %q is defined twice; give each cluster its own name", cluster.GetName())
		}
		byName[cluster.GetName()] = cluster
	}
	return byName
}

func checkClusters(f *findings, clusters map[string]*clusterv3.Cluster) {
	for _, name := range []string{issuerCluster, extAuthzCluster, upstreamCluster} {
		if _, ok := clusters[name]; !ok {
			f.addf("clusters: cluster %q is not defined; add it under static_resources.clusters", name)
		}
	}

	for name, cluster := range clusters {
		if len(socketAddresses(cluster)) == 0 {
			f.addf("cluster %q: no endpoint with a socket address; list the service's host and port under load_assignment", name)
		}
		if len(cluster.GetHealthChecks()) == 0 {
			f.addf("cluster %q: no health_checks; add an active health check so Envoy notices a dead service", name)
		}
	}

	checkClusterPort(f, clusters[issuerCluster], issuerDefaultPort, "cmd/issuer")
	checkClusterPort(f, clusters[extAuthzCluster], extAuthzDefaultPort, "cmd/extauthz")

	if sidecar, ok := clusters[extAuthzCluster]; ok && !usesHTTP2(sidecar) {
		f.addf("cluster %q: does not use HTTP/2; ext_authz speaks gRPC, so set typed_extension_protocol_options %q with explicit_http_config.http2_protocol_options", extAuthzCluster, protocolOptionsKey)
	}
	if sidecar, ok := clusters[extAuthzCluster]; ok {
		checkSidecarHealthCheck(f, sidecar)
	}
}

// checkSidecarHealthCheck checks that Envoy's health check requests the
// status of the Authorization service, which the sidecar reports as
// NOT_SERVING while it has no usable keys.
func checkSidecarHealthCheck(f *findings, sidecar *clusterv3.Cluster) {
	for _, check := range sidecar.GetHealthChecks() {
		grpcCheck := check.GetGrpcHealthCheck()
		if grpcCheck == nil {
			f.addf("cluster %q: a health check is not a grpc_health_check; the sidecar serves gRPC health only", extAuthzCluster)
			continue
		}
		if name := grpcCheck.GetServiceName(); name != authorizationHealthService {
			f.addf("cluster %q: grpc_health_check.service_name is %q; set %q, because only that name reports NOT_SERVING while the sidecar has no keys", extAuthzCluster, name, authorizationHealthService)
		}
	}
}

// checkClusterPort checks that every endpoint of cluster uses the default
// listen port of the program behind it.
func checkClusterPort(f *findings, cluster *clusterv3.Cluster, defaultPort uint32, program string) {
	if cluster == nil {
		return
	}
	for _, address := range socketAddresses(cluster) {
		if address.GetPortValue() != defaultPort {
			f.addf("cluster %q: sends to port %d, but %s listens on %d by default; use %d or configure the program to listen on %d", cluster.GetName(), address.GetPortValue(), program, defaultPort, defaultPort, address.GetPortValue())
		}
	}
}

// socketAddresses returns the socket address of every endpoint of cluster.
func socketAddresses(cluster *clusterv3.Cluster) []*corev3.SocketAddress {
	var addresses []*corev3.SocketAddress
	for _, locality := range cluster.GetLoadAssignment().GetEndpoints() {
		for _, endpoint := range locality.GetLbEndpoints() {
			if address := endpoint.GetEndpoint().GetAddress().GetSocketAddress(); address != nil {
				addresses = append(addresses, address)
			}
		}
	}
	return addresses
}

// protocolOptionsKey is the typed_extension_protocol_options key for
// upstream HTTP protocol options.
const protocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

func usesHTTP2(cluster *clusterv3.Cluster) bool {
	packed, ok := cluster.GetTypedExtensionProtocolOptions()[protocolOptionsKey]
	if !ok {
		return false
	}
	options := &upstreamhttpv3.HttpProtocolOptions{}
	if err := packed.UnmarshalTo(options); err != nil {
		return false
	}
	return options.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}

// connectionManager returns the HTTP connection manager of the only listener.
func connectionManager(f *findings, listeners []*listenerv3.Listener) *hcmv3.HttpConnectionManager {
	if len(listeners) != 1 {
		f.addf("listeners: found %d listeners; this deployment has exactly one, on port %d", len(listeners), listenerPort)
		return nil
	}
	listener := listeners[0]
	if port := listener.GetAddress().GetSocketAddress().GetPortValue(); port != listenerPort {
		f.addf("listener %q: listens on port %d; docker-compose.yml and the docs use %d", listener.GetName(), port, listenerPort)
	}

	for _, chain := range listener.GetFilterChains() {
		for _, filter := range chain.GetFilters() {
			if filter.GetName() != connectionManagerFilter {
				continue
			}
			manager := &hcmv3.HttpConnectionManager{}
			if err := filter.GetTypedConfig().UnmarshalTo(manager); err != nil {
				f.addf("listener %q: filter %q does not hold an HttpConnectionManager: %v", listener.GetName(), connectionManagerFilter, err)
				return nil
			}
			return manager
		}
	}
	f.addf("listener %q: no %s filter; add one so Envoy serves HTTP", listener.GetName(), connectionManagerFilter)
	return nil
}

func checkConnectionManager(f *findings, manager *hcmv3.HttpConnectionManager) {
	if !manager.GetUseRemoteAddress().GetValue() {
		f.addf("http_connection_manager: use_remote_address is not true; Envoy is the edge, so it must set X-Forwarded-For from the peer address instead of trusting the caller's")
	}

	// The sidecar's policy matches path prefixes, so the path it receives must be
	// the path the upstream serves.
	if !manager.GetNormalizePath().GetValue() {
		f.addf("http_connection_manager: normalize_path is not true; without it /public/../private can match a public policy rule and still reach /private upstream")
	}
	if !manager.GetStripTrailingHostDot() {
		f.addf("http_connection_manager: strip_trailing_host_dot is false; without it admin.example.com. can skip a policy rule for host admin.example.com")
	}
	if !manager.GetMergeSlashes() {
		f.addf("http_connection_manager: merge_slashes is false; without it //private can slip past a policy rule for /private")
	}
	switch action := manager.GetPathWithEscapedSlashesAction(); action {
	case hcmv3.HttpConnectionManager_REJECT_REQUEST, hcmv3.HttpConnectionManager_UNESCAPE_AND_REDIRECT:
	default:
		f.addf("http_connection_manager: path_with_escaped_slashes_action is %s; use REJECT_REQUEST so %%2F cannot hide a path segment from the policy", action)
	}

	if action := manager.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); action == corev3.HttpProtocolOptions_ALLOW {
		f.addf("http_connection_manager: common_http_protocol_options.headers_with_underscores_action is ALLOW; use DROP_HEADER or REJECT_REQUEST, because some upstream frameworks read x_auth_subject as x-auth-subject and the sidecar strips only the dashed name")
	}
}

func checkHTTPFilters(f *findings, filters []*hcmv3.HttpFilter, clusters map[string]*clusterv3.Cluster) {
	if len(filters) == 0 {
		f.addf("http_filters: empty; add %s and %s", extAuthzFilter, routerFilter)
		return
	}
	if last := filters[len(filters)-1]; !holds(last, &routerv3.Router{}) {
		f.addf("http_filters: the last filter is %q; %s must be last, because filters after the router never run", last.GetName(), routerFilter)
	}

	var authz []*hcmv3.HttpFilter
	for _, filter := range filters {
		if holds(filter, &extauthzv3.ExtAuthz{}) {
			authz = append(authz, filter)
		}
	}
	if len(authz) != 1 {
		f.addf("http_filters: found %d ext_authz filters; exactly one must check every request that is not for the issuer", len(authz))
		return
	}

	filter := authz[0]
	if filter.GetName() != extAuthzFilter {
		f.addf("http_filters: the ext_authz filter is named %q; name it %q, the key the per-route settings use", filter.GetName(), extAuthzFilter)
	}
	if filter.GetDisabled() {
		f.addf("ext_authz filter: disabled is true, so it runs only on routes that enable it; remove the setting")
	}
	config := &extauthzv3.ExtAuthz{}
	if err := filter.GetTypedConfig().UnmarshalTo(config); err != nil {
		f.addf("ext_authz filter: cannot decode typed_config: %v", err)
		return
	}
	checkExtAuthz(f, config, clusters)
}

// holds reports whether filter's typed_config is of the same type as empty.
func holds(filter *hcmv3.HttpFilter, empty proto.Message) bool {
	return filter.GetTypedConfig().MessageIs(empty)
}

func checkExtAuthz(f *findings, config *extauthzv3.ExtAuthz, clusters map[string]*clusterv3.Cluster) {
	service := config.GetGrpcService()
	if service == nil {
		f.addf("ext_authz filter: no grpc_service; the gatepass sidecar serves envoy.service.auth.v3.Authorization over gRPC")
	} else {
		cluster := service.GetEnvoyGrpc().GetClusterName()
		switch {
		case cluster == "":
			f.addf("ext_authz filter: grpc_service has no envoy_grpc.cluster_name; point it at cluster %q", extAuthzCluster)
		case clusters[cluster] == nil:
			f.addf("ext_authz filter: grpc_service points at undefined cluster %q; define it under static_resources.clusters", cluster)
		case cluster != extAuthzCluster:
			f.addf("ext_authz filter: grpc_service points at cluster %q instead of the sidecar's cluster %q", cluster, extAuthzCluster)
		}

		timeout := service.GetTimeout()
		switch {
		case timeout == nil:
			f.addf("ext_authz filter: grpc_service.timeout is not set; set it explicitly, at most %s, so the bound on a stalled sidecar is visible", maxExtAuthzTimeout)
		case timeout.AsDuration() <= 0 || timeout.AsDuration() > maxExtAuthzTimeout:
			f.addf("ext_authz filter: grpc_service.timeout is %s; use a value above 0 and at most %s", timeout.AsDuration(), maxExtAuthzTimeout)
		}
	}

	if config.GetTransportApiVersion() != corev3.ApiVersion_V3 {
		f.addf("ext_authz filter: transport_api_version is %s; the sidecar serves only V3", config.GetTransportApiVersion())
	}
	if config.GetFailureModeAllow() {
		f.addf("ext_authz filter: failure_mode_allow is true, so requests pass unchecked whenever the sidecar fails or times out; set it to false")
	}
	if config.GetShadowMode() {
		f.addf("ext_authz filter: shadow_mode is true, so denied requests still reach the upstream; remove it")
	}
	if config.GetFilterEnabled() != nil || config.GetFilterEnabledMetadata() != nil {
		f.addf("ext_authz filter: filter_enabled or filter_enabled_metadata lets requests skip the check; remove them and disable the filter per route instead")
	}
	if config.GetWithRequestBody() != nil {
		f.addf("ext_authz filter: with_request_body is set; the sidecar decides on headers alone, so buffering bodies only adds latency and memory")
	}
	if config.GetClearRouteCache() {
		f.addf("ext_authz filter: clear_route_cache is true; the sidecar's headers must not change which route, and so which cluster, a request takes")
	}
	if config.GetIncludePeerCertificate() {
		f.addf("ext_authz filter: include_peer_certificate is true; the sidecar does not use client certificates")
	}
	checkMutationRules(f, config.GetDecoderHeaderMutationRules())
}

// checkMutationRules checks that the sidecar may change exactly the headers
// it needs. Envoy's regex engine is RE2, and Go's regexp package implements
// the same syntax, so the expressions are evaluated here as Envoy would.
func checkMutationRules(f *findings, rules *mutationrulesv3.HeaderMutationRules) {
	if rules == nil {
		f.addf("ext_authz filter: decoder_header_mutation_rules is not set, so the sidecar may change any request header; allow only %v", sidecarMutableHeaders)
		return
	}
	if !rules.GetDisallowAll().GetValue() {
		f.addf("ext_authz filter: decoder_header_mutation_rules.disallow_all is not true, so headers outside allow_expression stay mutable")
	}
	if !rules.GetDisallowIsError().GetValue() {
		f.addf("ext_authz filter: decoder_header_mutation_rules.disallow_is_error is not true; a rejected mutation must fail the request, or a caller-sent identity header the sidecar meant to remove could reach the upstream")
	}

	allow, err := compileRE2(rules.GetAllowExpression())
	if err != nil {
		f.addf("ext_authz filter: decoder_header_mutation_rules.allow_expression: %v", err)
		return
	}
	disallow, err := compileRE2(rules.GetDisallowExpression())
	if err != nil {
		f.addf("ext_authz filter: decoder_header_mutation_rules.disallow_expression: %v", err)
		return
	}
	for _, header := range sidecarMutableHeaders {
		if allow == nil || !allow.MatchString(header) || (disallow != nil && disallow.MatchString(header)) {
			f.addf("ext_authz filter: decoder_header_mutation_rules do not let the sidecar set or remove %q; extend allow_expression", header)
		}
	}
	for _, header := range protectedHeaders {
		if allow != nil && allow.MatchString(header) && (disallow == nil || !disallow.MatchString(header)) {
			f.addf("ext_authz filter: decoder_header_mutation_rules let the sidecar change %q; anchor allow_expression to the exact header names", header)
		}
	}
}

func checkRoutes(f *findings, routes *routev3.RouteConfiguration, clusters map[string]*clusterv3.Cluster) {
	if routes == nil {
		f.addf("http_connection_manager: no inline route_config; this test checks routes only when they are inline")
		return
	}
	if authzDisabled(f, "route_config", routes.GetTypedPerFilterConfig()) {
		f.addf("route_config: typed_per_filter_config disables ext_authz for every route; disable it only on the issuer routes")
	}
	if len(routes.GetVirtualHosts()) != 1 {
		f.addf("route_config: found %d virtual hosts; this deployment has exactly one", len(routes.GetVirtualHosts()))
		return
	}

	host := routes.GetVirtualHosts()[0]
	if authzDisabled(f, "virtual host "+host.GetName(), host.GetTypedPerFilterConfig()) {
		f.addf("virtual host %q: typed_per_filter_config disables ext_authz for every route; disable it only on the issuer routes", host.GetName())
	}
	if removed := removedIdentityHeaders(host.GetRequestHeadersToRemove()); len(removed) > 0 {
		f.addf("virtual host %q: request_headers_to_remove drops %v after ext_authz ran, so the upstream never sees the sidecar's identity headers; remove them only on issuer routes", host.GetName(), removed)
	}

	list := host.GetRoutes()
	for i, route := range list {
		checkRoute(f, route, clusters)
		if i < len(list)-1 && proto.Equal(route.GetMatch(), catchAllMatch) {
			f.addf("route %d (%s): matches every path, so the routes after it never match; move it to the end", i, describeMatch(route.GetMatch()))
		}
	}
	checkIssuerRoutesPresent(f, list)
	checkCatchAll(f, list)
}

func checkRoute(f *findings, route *routev3.Route, clusters map[string]*clusterv3.Cluster) {
	match := describeMatch(route.GetMatch())
	action := route.GetRoute()
	if action == nil {
		// A redirect or direct response never reaches a cluster.
		return
	}

	cluster := action.GetCluster()
	switch {
	case cluster == "":
		f.addf("route %s: routes by cluster_header or weighted_clusters; name a single cluster so its ext_authz setting can be checked", match)
		return
	case clusters[cluster] == nil:
		f.addf("route %s: sends to undefined cluster %q; define the cluster or fix the name", match, cluster)
	case cluster == extAuthzCluster:
		f.addf("route %s: sends client requests to the sidecar's cluster %q; the sidecar serves only Envoy", match, cluster)
	}

	disabled := authzDisabled(f, "route "+match, route.GetTypedPerFilterConfig())
	removed := removedIdentityHeaders(route.GetRequestHeadersToRemove())
	if cluster == issuerCluster {
		if !disabled {
			f.addf("issuer route %s: ext_authz is not disabled; add typed_per_filter_config %q with ExtAuthzPerRoute{disabled: true}, because the issuer authenticates its own endpoints", match, extAuthzFilter)
		}
		if len(removed) != len(identityHeaders) {
			f.addf("issuer route %s: request_headers_to_remove must list %v, because no sidecar strips caller-sent copies on this route", match, identityHeaders)
		}
		return
	}
	if disabled {
		f.addf("route %s: disables ext_authz, so requests to cluster %q pass unchecked; only issuer routes may disable it", match, cluster)
	}
	if len(removed) > 0 {
		f.addf("route %s: request_headers_to_remove drops %v after ext_authz ran, so cluster %q never sees the sidecar's identity headers", match, removed, cluster)
	}
}

// authzDisabled reports whether perFilter turns ext_authz off.
func authzDisabled(f *findings, scope string, perFilter map[string]*anypb.Any) bool {
	packed, ok := perFilter[extAuthzFilter]
	if !ok {
		return false
	}
	perRoute := &extauthzv3.ExtAuthzPerRoute{}
	if err := packed.UnmarshalTo(perRoute); err != nil {
		f.addf("%s: typed_per_filter_config %q is not an ExtAuthzPerRoute: %v", scope, extAuthzFilter, err)
		return false
	}
	return perRoute.GetDisabled()
}

// removedIdentityHeaders returns the identity headers listed in remove.
func removedIdentityHeaders(remove []string) []string {
	var removed []string
	for _, header := range identityHeaders {
		if slices.Contains(remove, header) {
			removed = append(removed, header)
		}
	}
	return removed
}

func checkIssuerRoutesPresent(f *findings, routes []*routev3.Route) {
	for _, want := range issuerRouteMatches {
		index := slices.IndexFunc(routes, func(route *routev3.Route) bool {
			return proto.Equal(route.GetMatch(), want)
		})
		if index < 0 {
			f.addf("routes: no route with match %s; add one to cluster %q so the issuer endpoint is reachable through Envoy", describeMatch(want), issuerCluster)
			continue
		}
		if cluster := routes[index].GetRoute().GetCluster(); cluster != issuerCluster {
			f.addf("route %s: sends to cluster %q; the issuer serves this path, so send it to %q", describeMatch(want), cluster, issuerCluster)
		}
	}
}

// checkCatchAll checks that the last route sends every other path to the
// upstream through ext_authz.
func checkCatchAll(f *findings, routes []*routev3.Route) {
	if len(routes) == 0 {
		f.addf("routes: empty; add the issuer routes and a catch-all route to cluster %q", upstreamCluster)
		return
	}
	last := routes[len(routes)-1]
	if !proto.Equal(last.GetMatch(), catchAllMatch) {
		f.addf("routes: the last route matches %s, not every path; end with a catch-all route {prefix: /} to cluster %q", describeMatch(last.GetMatch()), upstreamCluster)
		return
	}
	if cluster := last.GetRoute().GetCluster(); cluster != upstreamCluster {
		f.addf("catch-all route: sends to cluster %q; send it to %q", cluster, upstreamCluster)
	}
}

// describeMatch renders a route match for messages, for example "path /me".
func describeMatch(match *routev3.RouteMatch) string {
	withoutPath := proto.Clone(match).(*routev3.RouteMatch)
	withoutPath.PathSpecifier = nil
	if proto.Size(withoutPath) == 0 {
		switch specifier := match.GetPathSpecifier().(type) {
		case *routev3.RouteMatch_Path:
			return "path " + specifier.Path
		case *routev3.RouteMatch_Prefix:
			return "prefix " + specifier.Prefix
		case *routev3.RouteMatch_PathSeparatedPrefix:
			return "path_separated_prefix " + specifier.PathSeparatedPrefix
		}
	}
	return protojson.Format(match)
}

// compileRE2 compiles matcher's regex, anchored as Envoy anchors it: Envoy's
// RE2 matcher requires the whole header name to match. A nil matcher yields
// a nil expression.
func compileRE2(matcher *matcherv3.RegexMatcher) (*regexp.Regexp, error) {
	if matcher == nil {
		return nil, nil
	}
	expression, err := regexp.Compile(`^(?:` + matcher.GetRegex() + `)$`)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %w", matcher.GetRegex(), err)
	}
	return expression, nil
}
