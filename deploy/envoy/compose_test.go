package envoyconfig_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"sigs.k8s.io/yaml"
)

// Paths and names docker-compose.yml uses for Envoy and the sidecar.
const (
	envoyService      = "envoy"
	envoyImage        = "envoyproxy/envoy"
	envoyConfigSource = "./deploy/envoy/envoy.yaml"
	envoyConfigTarget = "/etc/envoy/envoy.yaml"
	policySource      = "./deploy/envoy/policy.yaml"
	postgresService   = "postgres"

	// envoyAPIModule provides the protos the config is validated against.
	envoyAPIModule = "github.com/envoyproxy/go-control-plane/envoy"
	goModPath      = "../../go.mod"
)

// composeFile is the part of a Compose file that these checks read.
type composeFile struct {
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image       string                       `json:"image"`
	Environment map[string]string            `json:"environment"`
	Expose      []string                     `json:"expose"`
	Ports       []string                     `json:"ports"`
	Volumes     []string                     `json:"volumes"`
	DependsOn   map[string]composeDependency `json:"depends_on"`
}

type composeDependency struct {
	Condition string `json:"condition"`
}

// parseComposeYAML converts a Compose file from YAML to JSON and parses it.
func parseComposeYAML(yamlCompose []byte) (composeFile, error) {
	jsonCompose, err := yaml.YAMLToJSON(yamlCompose)
	if err != nil {
		return composeFile{}, fmt.Errorf("convert docker-compose.yml from YAML to JSON: %w", err)
	}
	return parseComposeJSON(jsonCompose)
}

func parseComposeJSON(jsonCompose []byte) (composeFile, error) {
	var compose composeFile
	if err := json.Unmarshal(jsonCompose, &compose); err != nil {
		return composeFile{}, fmt.Errorf("parse docker-compose.yml (environment must use the map form, expose and ports lists of strings): %w", err)
	}
	return compose, nil
}

// checkCompose checks that compose starts every service the bootstrap sends
// requests to, on the ports it uses, and that the issuer, the sidecar and
// Envoy agree on the issuer URL.
func checkCompose(bootstrap *bootstrapv3.Bootstrap, compose composeFile) error {
	var f findings
	for _, cluster := range bootstrap.GetStaticResources().GetClusters() {
		for _, address := range socketAddresses(cluster) {
			checkServicePort(&f, compose, fmt.Sprintf("cluster %q", cluster.GetName()), address.GetAddress(), address.GetPortValue())
		}
	}

	checkUpstreamPort(&f, bootstrap, compose)
	publishedPort := checkEnvoyService(&f, compose)
	checkIssuerURLs(&f, bootstrap, compose, publishedPort)
	checkPolicyMount(&f, compose)
	checkDatabase(&f, compose)
	return errors.Join(f...)
}

// checkServicePort checks that host is a compose service that exposes port.
func checkServicePort(f *findings, compose composeFile, user, host string, port uint32) {
	service, ok := compose.Services[host]
	if !ok {
		f.addf("%s sends to host %q, but docker-compose.yml has no service %q; rename the service or the host", user, host, host)
		return
	}
	if !slices.Contains(service.Expose, strconv.FormatUint(uint64(port), 10)) {
		f.addf("%s sends to %s:%d, but service %q does not list %d under expose (it lists %v); make the port and the expose entry agree", user, host, port, host, port, service.Expose)
	}
}

// checkUpstreamPort checks that the echo server listens where the upstream
// cluster sends.
func checkUpstreamPort(f *findings, bootstrap *bootstrapv3.Bootstrap, compose composeFile) {
	service, ok := compose.Services[upstreamCluster]
	if !ok {
		return
	}
	listenPort := service.Environment["HTTP_PORT"]
	for _, cluster := range bootstrap.GetStaticResources().GetClusters() {
		if cluster.GetName() != upstreamCluster {
			continue
		}
		for _, address := range socketAddresses(cluster) {
			if strconv.FormatUint(uint64(address.GetPortValue()), 10) != listenPort {
				f.addf("service %q: HTTP_PORT is %q, but cluster %q sends to port %d; make them equal", upstreamCluster, listenPort, upstreamCluster, address.GetPortValue())
			}
		}
	}
}

// checkEnvoyService checks the Envoy service and returns the host port that
// publishes the listener, or 0 when there is none.
func checkEnvoyService(f *findings, compose composeFile) int {
	service, ok := compose.Services[envoyService]
	if !ok {
		f.addf("docker-compose.yml has no service %q; add one that runs %s with %s", envoyService, envoyImage, envoyConfigSource)
		return 0
	}

	checkEnvoyImage(f, service.Image)

	if !slices.ContainsFunc(service.Volumes, func(volume string) bool {
		source, target, _ := splitVolume(volume)
		return source == envoyConfigSource && target == envoyConfigTarget
	}) {
		f.addf("service %q: does not mount %s at %s, where the image reads its config", envoyService, envoyConfigSource, envoyConfigTarget)
	}

	for _, dependency := range []string{issuerCluster, extAuthzCluster, upstreamCluster} {
		if _, ok := service.DependsOn[dependency]; !ok {
			f.addf("service %q: depends_on does not list %q; Envoy should start after the services it sends to", envoyService, dependency)
		}
	}

	for _, port := range service.Ports {
		hostPort, containerPort, ok := splitPublishedPort(port)
		if ok && containerPort == listenerPort {
			return hostPort
		}
	}
	f.addf("service %q: ports does not publish the listener port %d; clients cannot reach Envoy", envoyService, listenerPort)
	return 0
}

// checkEnvoyImage checks that the Envoy image has the minor version of the
// protos in go.mod, so the schema the test checks is the one Envoy enforces.
func checkEnvoyImage(f *findings, image string) {
	repository, tag, _ := strings.Cut(image, ":")
	if repository != envoyImage {
		f.addf("service %q: image is %q; use %s pinned to a release tag", envoyService, image, envoyImage)
		return
	}

	apiVersion, err := moduleVersion(envoyAPIModule)
	if err != nil {
		f.addf("service %q: %v", envoyService, err)
		return
	}
	if minorVersion(tag) != minorVersion(apiVersion) {
		f.addf("service %q: image tag %q is not Envoy %s.x, the version of the %s protos in go.mod that this test validates against; pin the image to that release or update the module", envoyService, tag, minorVersion(apiVersion), envoyAPIModule)
	}
}

// checkIssuerURLs checks that tokens carry the issuer URL clients use (Envoy's
// published address), that the sidecar expects that same iss, and that it
// fetches keys from the issuer service directly.
func checkIssuerURLs(f *findings, bootstrap *bootstrapv3.Bootstrap, compose composeFile, publishedPort int) {
	issuer, issuerOK := compose.Services[issuerCluster]
	sidecar, sidecarOK := compose.Services[extAuthzCluster]
	if !issuerOK || !sidecarOK {
		return
	}

	issuerURL := issuer.Environment["GATEPASS_ISSUER_URL"]
	if sidecarURL := sidecar.Environment["GATEPASS_ISSUER_URL"]; sidecarURL != issuerURL {
		f.addf("service %q: GATEPASS_ISSUER_URL is %q but the issuer's is %q; the sidecar rejects tokens whose iss differs, so make them equal", extAuthzCluster, sidecarURL, issuerURL)
	}

	parsed, err := url.Parse(issuerURL)
	if err != nil || parsed.Port() == "" {
		f.addf("service %q: GATEPASS_ISSUER_URL %q is not an absolute URL with a port; use Envoy's published address, http://localhost:%d", issuerCluster, issuerURL, publishedPort)
	} else if publishedPort != 0 && parsed.Port() != strconv.Itoa(publishedPort) {
		f.addf("service %q: GATEPASS_ISSUER_URL %q does not use port %d, where Envoy is published; clients see Envoy's address, so tokens and metadata must name it", issuerCluster, issuerURL, publishedPort)
	}

	for _, cluster := range bootstrap.GetStaticResources().GetClusters() {
		if cluster.GetName() != issuerCluster {
			continue
		}
		for _, address := range socketAddresses(cluster) {
			want := fmt.Sprintf("http://%s:%d/jwks", address.GetAddress(), address.GetPortValue())
			if got := sidecar.Environment["GATEPASS_JWKS_URL"]; got != want {
				f.addf("service %q: GATEPASS_JWKS_URL is %q; use %q, the issuer inside the compose network, because the issuer URL names Envoy on the host", extAuthzCluster, got, want)
			}
		}
	}
}

// checkPolicyMount checks that the sidecar's policy file is mounted from the
// repository at the path GATEPASS_POLICY_FILE names.
func checkPolicyMount(f *findings, compose composeFile) {
	sidecar, ok := compose.Services[extAuthzCluster]
	if !ok {
		return
	}
	policyFile := sidecar.Environment["GATEPASS_POLICY_FILE"]
	if policyFile == "" {
		f.addf("service %q: GATEPASS_POLICY_FILE is not set; point it at the mounted policy file", extAuthzCluster)
		return
	}
	if !slices.ContainsFunc(sidecar.Volumes, func(volume string) bool {
		source, target, _ := splitVolume(volume)
		return source == policySource && target == policyFile
	}) {
		f.addf("service %q: GATEPASS_POLICY_FILE is %q, but no volume mounts %s there", extAuthzCluster, policyFile, policySource)
	}
}

// checkDatabase checks that the issuer's database URL names the Postgres
// service, that the key-encryption key PostgreSQL needs is set and that the
// issuer waits until Postgres is ready.
func checkDatabase(f *findings, compose composeFile) {
	issuer, ok := compose.Services[issuerCluster]
	if !ok {
		return
	}
	databaseURL := interpolateDefaults(issuer.Environment["GATEPASS_DATABASE_URL"])
	parsed, err := url.Parse(databaseURL)
	if err != nil || parsed.Scheme != "postgres" {
		f.addf("service %q: GATEPASS_DATABASE_URL %q is not a postgres:// URL", issuerCluster, databaseURL)
		return
	}
	port, err := strconv.ParseUint(parsed.Port(), 10, 32)
	if err != nil {
		f.addf("service %q: GATEPASS_DATABASE_URL %q has no valid port; name it, for example postgres:5432", issuerCluster, databaseURL)
		return
	}
	checkServicePort(f, compose, fmt.Sprintf("service %q (GATEPASS_DATABASE_URL)", issuerCluster), parsed.Hostname(), uint32(port))
	if issuer.Environment["GATEPASS_KEY_ENCRYPTION_KEY"] == "" {
		f.addf("service %q: GATEPASS_KEY_ENCRYPTION_KEY is not set; the issuer refuses to start on PostgreSQL without it", issuerCluster)
	}
	if issuer.DependsOn[postgresService].Condition != "service_healthy" {
		f.addf("service %q: depends_on %q must use condition service_healthy, so the issuer starts when Postgres accepts connections", issuerCluster, postgresService)
	}
}

// splitVolume splits a short-syntax volume "source:target[:mode]".
func splitVolume(volume string) (source, target, mode string) {
	parts := strings.SplitN(volume, ":", 3)
	switch len(parts) {
	case 1:
		return "", parts[0], ""
	case 2:
		return parts[0], parts[1], ""
	default:
		return parts[0], parts[1], parts[2]
	}
}

// splitPublishedPort splits a short-syntax port "[ip:]host:container" and
// reports whether it names both ports.
func splitPublishedPort(port string) (hostPort, containerPort int, ok bool) {
	parts := strings.Split(port, ":")
	if len(parts) < 2 {
		return 0, 0, false
	}
	hostPort, hostErr := strconv.Atoi(parts[len(parts)-2])
	containerPort, containerErr := strconv.Atoi(parts[len(parts)-1])
	return hostPort, containerPort, hostErr == nil && containerErr == nil
}

// moduleVersion returns the version of module that go.mod requires. Test
// binaries carry no dependency versions in their build information, so it
// reads the require line, which the go command always writes as
// "<module> <version>".
func moduleVersion(module string) (string, error) {
	content, err := os.ReadFile(goModPath)
	if err != nil {
		return "", fmt.Errorf("read the Envoy API version: %w", err)
	}
	for line := range strings.Lines(string(content)) {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s; add it, because the config test validates against its protos", goModPath, module)
}

// minorVersion returns "v1.40" for "v1.40.0" or "v1.40.0-rc1".
func minorVersion(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}

// composeVariable matches Compose interpolation with a default, ${NAME:-default}.
var composeVariable = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}`)

// interpolateDefaults replaces each ${NAME:-default} in value with its
// default, which is what Compose substitutes when NAME is unset.
func interpolateDefaults(value string) string {
	return composeVariable.ReplaceAllString(value, "$1")
}
