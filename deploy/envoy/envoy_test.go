package envoyconfig_test

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	envoyConfigPath = "envoy.yaml"
	composePath     = "../../docker-compose.yml"
)

// checkDeployment parses an Envoy bootstrap and a Compose file, both as JSON,
// and runs every check on them.
func checkDeployment(envoyJSON, composeJSON []byte) error {
	bootstrap, err := parseBootstrapJSON(envoyJSON)
	if err != nil {
		return err
	}
	compose, err := parseComposeJSON(composeJSON)
	if err != nil {
		return err
	}
	return errors.Join(checkEnvoyRules(bootstrap), checkCompose(bootstrap, compose))
}

func TestEnvoyConfigMatchesSchema(t *testing.T) {
	if _, err := parseBootstrapYAML(readFile(t, envoyConfigPath)); err != nil {
		t.Fatalf("%s does not match Envoy's schema:\n%v", envoyConfigPath, err)
	}
}

func TestEnvoyConfigFollowsRules(t *testing.T) {
	bootstrap, err := parseBootstrapYAML(readFile(t, envoyConfigPath))
	if err != nil {
		t.Fatalf("parse %s: %v", envoyConfigPath, err)
	}
	if err := checkEnvoyRules(bootstrap); err != nil {
		t.Errorf("%s breaks deployment rules:\n%v", envoyConfigPath, err)
	}
}

func TestComposeMatchesEnvoyConfig(t *testing.T) {
	bootstrap, err := parseBootstrapYAML(readFile(t, envoyConfigPath))
	if err != nil {
		t.Fatalf("parse %s: %v", envoyConfigPath, err)
	}
	compose, err := parseComposeYAML(readFile(t, composePath))
	if err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	if err := checkCompose(bootstrap, compose); err != nil {
		t.Errorf("%s and %s disagree:\n%v", composePath, envoyConfigPath, err)
	}
}

// TestBrokenConfigRejected breaks one thing at a time in copies of envoy.yaml
// and docker-compose.yml and checks that the checks reject each copy for the
// stated reason. Each edit works on the decoded YAML tree, so YAML anchors
// are already expanded and an edit changes only the node it names.
func TestBrokenConfigRejected(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, envoy, compose map[string]any)
		want string
	}{
		{
			name: "misspelled field",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				config := extAuthzConfig(t, envoy)
				config["failure_mode_alow"] = config["failure_mode_allow"]
				delete(config, "failure_mode_allow")
			},
			want: `unknown field "failure_mode_alow"`,
		},
		{
			name: "invalid enum value",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["transport_api_version"] = "V4"
			},
			want: `invalid value for enum field transportApiVersion: "V4"`,
		},
		{
			name: "unknown typed_config type",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				filter := named(t, list(t, connectionManagerConfig(t, envoy), "http_filters"), routerFilter)
				object(t, filter, "typed_config")["@type"] = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr"
			},
			want: "unable to resolve",
		},
		{
			name: "listener port out of range",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, envoy, "static_resources", "listeners", 0, "address", "socket_address")["port_value"] = 70000
			},
			want: "PortValue: value must be less than or equal to 65535",
		},
		{
			name: "health check without interval",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(object(t, cluster(t, envoy, issuerCluster), "health_checks", 0), "interval")
			},
			want: "Interval: value is required",
		},
		{
			name: "typed_config violates its rules",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, extAuthzConfig(t, envoy), "grpc_service", "envoy_grpc")["cluster_name"] = ""
			},
			want: "ClusterName: value length must be at least 1 runes",
		},
		{
			name: "deprecated field",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				cluster(t, envoy, issuerCluster)["dns_refresh_rate"] = "5s"
			},
			want: "field envoy.config.cluster.v3.Cluster.dns_refresh_rate is deprecated",
		},
		{
			name: "sidecar cluster missing",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				resources := object(t, envoy, "static_resources")
				resources["clusters"] = slices.DeleteFunc(list(t, resources, "clusters"), func(item any) bool {
					return item.(map[string]any)["name"] == extAuthzCluster
				})
			},
			want: `cluster "extauthz" is not defined`,
		},
		{
			name: "route to undefined cluster",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, routeMatching(t, envoy, "prefix", "/"), "route")["cluster"] = "upstreams"
			},
			want: `sends to undefined cluster "upstreams"`,
		},
		{
			name: "failure mode allow",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["failure_mode_allow"] = true
			},
			want: "failure_mode_allow is true",
		},
		{
			name: "shadow mode",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["shadow_mode"] = true
			},
			want: "shadow_mode is true",
		},
		{
			name: "ext_authz filter disabled by default",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				named(t, list(t, connectionManagerConfig(t, envoy), "http_filters"), extAuthzFilter)["disabled"] = true
			},
			want: "ext_authz filter: disabled is true",
		},
		{
			name: "issuer route keeps ext_authz",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(routeMatching(t, envoy, "path", "/token"), "typed_per_filter_config")
			},
			want: "issuer route path /token: ext_authz is not disabled",
		},
		{
			name: "issuer route keeps identity headers",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(routeMatching(t, envoy, "path", "/me"), "request_headers_to_remove")
			},
			want: "issuer route path /me: request_headers_to_remove must list",
		},
		{
			name: "catch-all route skips ext_authz",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				issuerRoute := routeMatching(t, envoy, "path", "/token")
				routeMatching(t, envoy, "prefix", "/")["typed_per_filter_config"] = issuerRoute["typed_per_filter_config"]
			},
			want: `route prefix /: disables ext_authz, so requests to cluster "upstream" pass unchecked`,
		},
		{
			name: "catch-all route missing",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				host := object(t, connectionManagerConfig(t, envoy), "route_config", "virtual_hosts", 0)
				routes := list(t, host, "routes")
				host["routes"] = routes[:len(routes)-1]
			},
			want: "the last route matches prefix /clients/, not every path",
		},
		{
			name: "catch-all route first",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				host := object(t, connectionManagerConfig(t, envoy), "route_config", "virtual_hosts", 0)
				routes := list(t, host, "routes")
				host["routes"] = append([]any{routes[len(routes)-1]}, routes[:len(routes)-1]...)
			},
			want: "route 0 (prefix /): matches every path, so the routes after it never match",
		},
		{
			name: "upstream route strips identity headers",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				routeMatching(t, envoy, "prefix", "/")["request_headers_to_remove"] = []any{"x-auth-subject"}
			},
			want: `never sees the sidecar's identity headers`,
		},
		{
			name: "router not last",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				manager := connectionManagerConfig(t, envoy)
				filters := list(t, manager, "http_filters")
				manager["http_filters"] = []any{filters[1], filters[0]}
			},
			want: `the last filter is "envoy.filters.http.ext_authz"`,
		},
		{
			name: "sidecar cluster without HTTP/2",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(cluster(t, envoy, extAuthzCluster), "typed_extension_protocol_options")
			},
			want: `cluster "extauthz": does not use HTTP/2`,
		},
		{
			name: "request body sent to sidecar",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["with_request_body"] = map[string]any{"max_request_bytes": 8192}
			},
			want: "with_request_body is set",
		},
		{
			name: "route cache cleared",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["clear_route_cache"] = true
			},
			want: "clear_route_cache is true",
		},
		{
			name: "peer certificate sent to sidecar",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				extAuthzConfig(t, envoy)["include_peer_certificate"] = true
			},
			want: "include_peer_certificate is true",
		},
		{
			name: "sidecar timeout missing",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(object(t, extAuthzConfig(t, envoy), "grpc_service"), "timeout")
			},
			want: "grpc_service.timeout is not set",
		},
		{
			name: "sidecar timeout too long",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, extAuthzConfig(t, envoy), "grpc_service")["timeout"] = "5s"
			},
			want: "grpc_service.timeout is 5s",
		},
		{
			name: "mutation rules miss a header",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, extAuthzConfig(t, envoy), "decoder_header_mutation_rules", "allow_expression")["regex"] = "x-auth-(subject|client-id)|authorization"
			},
			want: `do not let the sidecar set or remove "x-auth-scopes"`,
		},
		{
			name: "mutation rules unanchored",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, extAuthzConfig(t, envoy), "decoder_header_mutation_rules", "allow_expression")["regex"] = "x-auth-.*|authorization"
			},
			want: `let the sidecar change "x-auth-subject-override"`,
		},
		{
			name: "mutation rules missing",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(extAuthzConfig(t, envoy), "decoder_header_mutation_rules")
			},
			want: "decoder_header_mutation_rules is not set",
		},
		{
			name: "admin on every interface",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, envoy, "admin", "address", "socket_address")["address"] = "0.0.0.0"
			},
			want: `admin: listens on "0.0.0.0"`,
		},
		{
			name: "path normalization off",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				connectionManagerConfig(t, envoy)["normalize_path"] = false
			},
			want: "normalize_path is not true",
		},
		{
			name: "trailing host dot kept",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				delete(connectionManagerConfig(t, envoy), "strip_trailing_host_dot")
			},
			want: "strip_trailing_host_dot is false",
		},
		{
			name: "sidecar health check without service name",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, cluster(t, envoy, extAuthzCluster), "health_checks", 0)["grpc_health_check"] = map[string]any{}
			},
			want: `grpc_health_check.service_name is ""`,
		},
		{
			name: "underscored headers allowed",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				object(t, connectionManagerConfig(t, envoy), "common_http_protocol_options")["headers_with_underscores_action"] = "ALLOW"
			},
			want: "headers_with_underscores_action is ALLOW",
		},
		{
			name: "issuer cluster on non-default port",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				endpointAddress(t, cluster(t, envoy, issuerCluster))["port_value"] = 8088
			},
			want: `cluster "issuer": sends to port 8088, but cmd/issuer listens on 8080 by default`,
		},
		{
			name: "sidecar cluster on non-default port",
			edit: func(t *testing.T, envoy, _ map[string]any) {
				endpointAddress(t, cluster(t, envoy, extAuthzCluster))["port_value"] = 9192
			},
			want: `cluster "extauthz": sends to port 9192, but cmd/extauthz listens on 9191 by default`,
		},
		{
			name: "compose service renamed",
			edit: func(t *testing.T, _, compose map[string]any) {
				services := object(t, compose, "services")
				services["echo"] = services[upstreamCluster]
				delete(services, upstreamCluster)
			},
			want: `docker-compose.yml has no service "upstream"`,
		},
		{
			name: "compose exposes another port",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", extAuthzCluster)["expose"] = []any{"9192"}
			},
			want: `service "extauthz" does not list 9191 under expose`,
		},
		{
			name: "echo server on another port",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", upstreamCluster, "environment")["HTTP_PORT"] = "8082"
			},
			want: `HTTP_PORT is "8082"`,
		},
		{
			name: "sidecar expects another issuer",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", extAuthzCluster, "environment")["GATEPASS_ISSUER_URL"] = "http://issuer:8080"
			},
			want: `GATEPASS_ISSUER_URL is "http://issuer:8080" but the issuer's is "http://localhost:8000"`,
		},
		{
			name: "issuer URL bypasses Envoy",
			edit: func(t *testing.T, _, compose map[string]any) {
				for _, service := range []string{issuerCluster, extAuthzCluster} {
					object(t, compose, "services", service, "environment")["GATEPASS_ISSUER_URL"] = "http://localhost:8080"
				}
			},
			want: `GATEPASS_ISSUER_URL "http://localhost:8080" does not use port 8000`,
		},
		{
			name: "JWKS URL on wrong port",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", extAuthzCluster, "environment")["GATEPASS_JWKS_URL"] = "http://issuer:8081/jwks"
			},
			want: `GATEPASS_JWKS_URL is "http://issuer:8081/jwks"`,
		},
		{
			name: "Envoy image older than protos",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", envoyService)["image"] = "envoyproxy/envoy:v1.36.2"
			},
			want: `image tag "v1.36.2" is not Envoy`,
		},
		{
			name: "Envoy config not mounted",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", envoyService)["volumes"] = []any{}
			},
			want: "does not mount ./deploy/envoy/envoy.yaml",
		},
		{
			name: "policy file not mounted",
			edit: func(t *testing.T, _, compose map[string]any) {
				delete(object(t, compose, "services", extAuthzCluster), "volumes")
			},
			want: `GATEPASS_POLICY_FILE is "/etc/gatepass/policy.yaml", but no volume mounts ./deploy/envoy/policy.yaml there`,
		},
		{
			name: "key-encryption key missing",
			edit: func(t *testing.T, _, compose map[string]any) {
				delete(object(t, compose, "services", issuerCluster, "environment"), "GATEPASS_KEY_ENCRYPTION_KEY")
			},
			want: "GATEPASS_KEY_ENCRYPTION_KEY is not set",
		},
		{
			name: "issuer does not wait for Postgres",
			edit: func(t *testing.T, _, compose map[string]any) {
				object(t, compose, "services", issuerCluster, "depends_on", postgresService)["condition"] = "service_started"
			},
			want: "must use condition service_healthy",
		},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			envoy := readTree(t, envoyConfigPath)
			compose := readTree(t, composePath)
			test.edit(t, envoy, compose)

			err := checkDeployment(marshalTree(t, envoy), marshalTree(t, compose))
			if err == nil {
				t.Fatalf("checks accepted the broken config; want an error containing %q", test.want)
			}
			t.Logf("rejected as expected:\n%v", err)
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("checks rejected the broken config for another reason:\n%v\nwant an error containing %q", err, test.want)
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return content
}

// readTree decodes a YAML file into maps and slices, the shape its JSON form
// decodes to.
func readTree(t *testing.T, path string) map[string]any {
	t.Helper()
	jsonContent, err := yaml.YAMLToJSON(readFile(t, path))
	if err != nil {
		t.Fatalf("convert %s to JSON: %v", path, err)
	}
	var tree map[string]any
	if err := json.Unmarshal(jsonContent, &tree); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return tree
}

func marshalTree(t *testing.T, tree map[string]any) []byte {
	t.Helper()
	content, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("encode edited tree: %v", err)
	}
	return content
}

// lookup follows steps from node: a string step selects an object member and
// an int step a list element. It fails the test when a step is missing, which
// means the edit no longer fits the file it is meant to break.
func lookup(t *testing.T, node any, steps ...any) any {
	t.Helper()
	for _, step := range steps {
		switch key := step.(type) {
		case string:
			members, ok := node.(map[string]any)
			if !ok || members[key] == nil {
				t.Fatalf("no member %q at %v", key, steps)
			}
			node = members[key]
		case int:
			elements, ok := node.([]any)
			if !ok || key >= len(elements) {
				t.Fatalf("no element %d at %v", key, steps)
			}
			node = elements[key]
		}
	}
	return node
}

func object(t *testing.T, node any, steps ...any) map[string]any {
	t.Helper()
	members, ok := lookup(t, node, steps...).(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", steps)
	}
	return members
}

func list(t *testing.T, node any, steps ...any) []any {
	t.Helper()
	elements, ok := lookup(t, node, steps...).([]any)
	if !ok {
		t.Fatalf("%v is not a list", steps)
	}
	return elements
}

// named returns the element of elements whose "name" member is name.
func named(t *testing.T, elements []any, name string) map[string]any {
	t.Helper()
	for _, element := range elements {
		if members, ok := element.(map[string]any); ok && members["name"] == name {
			return members
		}
	}
	t.Fatalf("no element named %q", name)
	return nil
}

func cluster(t *testing.T, envoy map[string]any, name string) map[string]any {
	t.Helper()
	return named(t, list(t, envoy, "static_resources", "clusters"), name)
}

func endpointAddress(t *testing.T, cluster map[string]any) map[string]any {
	t.Helper()
	return object(t, cluster, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint", "address", "socket_address")
}

func connectionManagerConfig(t *testing.T, envoy map[string]any) map[string]any {
	t.Helper()
	filters := list(t, envoy, "static_resources", "listeners", 0, "filter_chains", 0, "filters")
	return object(t, named(t, filters, connectionManagerFilter), "typed_config")
}

func extAuthzConfig(t *testing.T, envoy map[string]any) map[string]any {
	t.Helper()
	filters := list(t, connectionManagerConfig(t, envoy), "http_filters")
	return object(t, named(t, filters, extAuthzFilter), "typed_config")
}

// routeMatching returns the route whose match has member kind equal to value,
// for example kind "path" and value "/me".
func routeMatching(t *testing.T, envoy map[string]any, kind, value string) map[string]any {
	t.Helper()
	routes := list(t, connectionManagerConfig(t, envoy), "route_config", "virtual_hosts", 0, "routes")
	for _, route := range routes {
		members := route.(map[string]any)
		if match, ok := members["match"].(map[string]any); ok && match[kind] == value {
			return members
		}
	}
	t.Fatalf("no route with match %s %s", kind, value)
	return nil
}
