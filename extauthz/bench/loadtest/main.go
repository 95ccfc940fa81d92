// Command loadtest measures the ext_authz sidecar over gRPC beside a no-op
// Authorization server, both loaded by ghz in the same run.
//
// It starts, all on loopback: a stand-in issuer serving a JWK Set, a no-op
// Authorization server, and the sidecar binary given by --extauthz. It then
// runs ghz three times at the same concurrency: the no-op server and the
// sidecar with one token that stays cached, each for --duration, and the
// sidecar with --fresh-tokens distinct tokens, each sent once. It prints a
// Markdown table of checks per second and latency percentiles, and fails
// when any call errs or the sidecar denies a check.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
)

// benchPolicy gives the benchmarked path a scope rule, the most work a
// policy decision takes.
const benchPolicy = `
default: deny
rules:
  - name: reports
    prefix: /reports
    access: scopes
    scopes:
      all_of: [reports:read]
`

type options struct {
	extauthz    string
	ghz         string
	concurrency int
	duration    time.Duration
	warmUp      time.Duration
	freshTokens int
	output      string
	doc         string
	goBench     string
}

func main() {
	var opts options
	flag.StringVar(&opts.extauthz, "extauthz", "", "path of the built cmd/extauthz binary (required)")
	flag.StringVar(&opts.ghz, "ghz", "ghz", "path of the ghz load tool")
	flag.IntVar(&opts.concurrency, "concurrency", 50, "concurrent calls ghz keeps in flight")
	flag.DurationVar(&opts.duration, "duration", 10*time.Second, "length of each cached and no-op measurement")
	flag.DurationVar(&opts.warmUp, "warm-up", 2*time.Second, "unmeasured load before each measurement")
	flag.IntVar(&opts.freshTokens, "fresh-tokens", 20000, "number of distinct tokens in the fresh-token measurement")
	flag.StringVar(&opts.output, "output", "", "also write the Markdown report to this file")
	flag.StringVar(&opts.doc, "doc", "", `replace the generated part of the "## ext_authz sidecar" section of this Markdown file with the report`)
	flag.StringVar(&opts.goBench, "go-bench", "", "file with `go test -bench` output to include in the report")
	flag.Parse()

	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	if opts.extauthz == "" {
		return errors.New("--extauthz is required: build cmd/extauthz and pass its path")
	}
	workDir, err := os.MkdirTemp("", "gatepass-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)

	key, err := testissuer.NewKey("bench-1", "ES256")
	if err != nil {
		return err
	}
	issuer := testissuer.NewServer(key)
	defer issuer.Close()

	noopAddress, stopNoop, err := startNoop()
	if err != nil {
		return fmt.Errorf("starting the no-op server: %w", err)
	}
	defer stopNoop()

	sidecar, err := startSidecar(opts.extauthz, workDir, issuer.URL())
	if err != nil {
		return err
	}
	defer sidecar.stop()

	cachedData, freshData, err := writeRequests(workDir, issuer, key, opts.freshTokens)
	if err != nil {
		return err
	}

	runner := ghzRunner{binary: opts.ghz, concurrency: opts.concurrency, workDir: workDir}
	fmt.Fprintf(os.Stderr, "warming up for %s each\n", opts.warmUp)
	for _, address := range []string{noopAddress, sidecar.grpcAddress} {
		if _, err := runner.run("warm-up", address, cachedData, "-z", opts.warmUp.String()); err != nil {
			return err
		}
	}

	var results []result
	for _, measurement := range []struct {
		name, address, data string
		limit               []string
	}{
		{"no-op server, same request", noopAddress, cachedData, []string{"-z", opts.duration.String()}},
		{"sidecar, cached token", sidecar.grpcAddress, cachedData, []string{"-z", opts.duration.String()}},
		{"sidecar, fresh tokens", sidecar.grpcAddress, freshData, []string{"-n", strconv.Itoa(opts.freshTokens)}},
	} {
		fmt.Fprintf(os.Stderr, "measuring %s\n", measurement.name)
		measured, err := runner.run(measurement.name, measurement.address, measurement.data, measurement.limit...)
		if err != nil {
			return err
		}
		results = append(results, measured)
	}

	if err := sidecar.requireNoDenials(); err != nil {
		return err
	}

	goBench, err := readGoBench(opts.goBench)
	if err != nil {
		return err
	}
	report := formatReport(opts, results, goBench)
	fmt.Print(report)
	if opts.output != "" {
		if err := os.WriteFile(opts.output, []byte(report), 0o644); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	if opts.doc != "" {
		return updateDoc(opts.doc, report)
	}
	return nil
}

// sidecarProcess is the running sidecar under test.
type sidecarProcess struct {
	cmd            *exec.Cmd
	grpcAddress    string
	metricsAddress string
}

// startSidecar runs the sidecar against issuerURL and waits until its
// Authorization service reports SERVING.
func startSidecar(binary, workDir, issuerURL string) (*sidecarProcess, error) {
	policyPath := filepath.Join(workDir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(benchPolicy), 0o600); err != nil {
		return nil, err
	}
	grpcAddress, err := freeAddress()
	if err != nil {
		return nil, err
	}
	metricsAddress, err := freeAddress()
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(binary, "serve",
		"--issuer-url", issuerURL,
		"--audience", testissuer.Audience,
		"--policy-file", policyPath,
		"--listen", grpcAddress,
		"--metrics-listen", metricsAddress,
		"--log-level", "warn",
	)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	sidecar := &sidecarProcess{cmd: cmd, grpcAddress: grpcAddress, metricsAddress: metricsAddress}
	if err := sidecar.waitReady(30 * time.Second); err != nil {
		sidecar.stop()
		return nil, err
	}
	return sidecar, nil
}

func (s *sidecarProcess) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := grpc.NewClient(s.grpcAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()

	stream, err := healthpb.NewHealthClient(conn).Watch(ctx,
		&healthpb.HealthCheckRequest{Service: authv3.Authorization_ServiceDesc.ServiceName}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("watching sidecar health: %w", err)
	}
	for {
		response, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("sidecar at %s not ready within %s: %w", s.grpcAddress, timeout, err)
		}
		if response.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
	}
}

func (s *sidecarProcess) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// denialPattern matches the sidecar's counters of denied checks.
var denialPattern = regexp.MustCompile(`(?m)^gatepass_extauthz_checks_total\{decision="deny",reason="([^"]+)"\} (\S+)$`)

// requireNoDenials reads the sidecar's metrics and fails if it denied any
// check, since ghz counts a denial as a successful call.
func (s *sidecarProcess) requireNoDenials() error {
	response, err := http.Get("http://" + s.metricsAddress + "/metrics")
	if err != nil {
		return fmt.Errorf("reading sidecar metrics: %w", err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return fmt.Errorf("reading sidecar metrics: %w", err)
	}
	for _, match := range denialPattern.FindAllStringSubmatch(string(body), -1) {
		if match[2] != "0" {
			return fmt.Errorf("the sidecar denied %s checks with reason %s: the measurement is invalid", match[2], match[1])
		}
	}
	return nil
}

func freeAddress() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer listener.Close()
	return listener.Addr().String(), nil
}

// readGoBench returns the benchmark result lines of a `go test -bench`
// output file, or nothing when path is empty.
func readGoBench(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading Go benchmark output: %w", err)
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "cpu:") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines, nil
}

func formatReport(opts options, results []result, goBench []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured on %s with `extauthz/bench/run.sh`. Machine: %d CPUs, %s, %s. ghz, the servers and the stand-in issuer share the CPUs.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.Version())
	if len(goBench) > 0 {
		fmt.Fprintln(&b, "Check called in-process (`go test -bench BenchmarkCheck -benchmem ./extauthz/authz/`): a cached token, the same from GOMAXPROCS goroutines, and a fresh ES256 token per call.")
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "```")
		for _, line := range goBench {
			fmt.Fprintln(&b, line)
		}
		fmt.Fprintln(&b, "```")
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "Check over gRPC on loopback, driven by ghz with %d concurrent calls over one connection. The no-op server allows every request without reading it, so it is the ceiling of the gRPC stack on this machine.\n\n", opts.concurrency)
	fmt.Fprintln(&b, "| server | workload | checks | checks/s | p50 | p99 |")
	fmt.Fprintln(&b, "| --- | --- | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		workload := opts.duration.String()
		if strings.Contains(r.name, "fresh") {
			workload = fmt.Sprintf("%d tokens, each once", opts.freshTokens)
		}
		server, _, _ := strings.Cut(r.name, ", ")
		_, detail, _ := strings.Cut(r.name, ", ")
		fmt.Fprintf(&b, "| %s | %s, %s | %d | %.0f | %s | %s |\n", server, detail, workload, r.count, r.rps, formatLatency(r.p50), formatLatency(r.p99))
	}
	if len(results) >= 2 && results[0].rps > 0 {
		fmt.Fprintf(&b, "\nCached checks reach %.2f× the no-op server's throughput (target: 0.8× or better).\n", results[1].rps/results[0].rps)
	}
	return b.String()
}

func formatLatency(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// cpuModel returns the processor name from /proc/cpuinfo, or the
// architecture when it cannot be read.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, value, found := strings.Cut(line, ":"); found && strings.TrimSpace(name) == "model name" {
				return strings.TrimSpace(value)
			}
		}
	}
	return runtime.GOARCH
}
