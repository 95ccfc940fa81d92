// Command loadtest measures the ext_authz sidecar over gRPC beside a no-op
// Authorization server, both loaded by ghz in the same run.
//
// It starts, all on loopback: a stand-in issuer serving a JWK Set, a no-op
// Authorization server in a process of its own, and the sidecar binary
// given by --extauthz. In each of --rounds rounds, ghz loads the no-op
// server and then the sidecar with one token that stays cached, each for
// --duration at the same concurrency. Last, ghz sends the sidecar
// --fresh-tokens distinct tokens, each once. It prints a Markdown report of
// checks per second and latency percentiles, and fails when any call errs
// or the sidecar denies a check.
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
	"slices"
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
	rounds      int
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
	flag.IntVar(&opts.rounds, "rounds", 3, "turns of the no-op server and the cached-token sidecar")
	flag.StringVar(&opts.output, "output", "", "also write the Markdown report to this file")
	flag.StringVar(&opts.doc, "doc", "", `replace the generated part of the "## ext_authz sidecar" section of this Markdown file with the report`)
	flag.StringVar(&opts.goBench, "go-bench", "", "file with `go test -bench` output to include in the report")
	noopListen := flag.String("noop-listen", "", "only serve the no-op Authorization server on this address; loadtest starts itself this way")
	flag.Parse()

	if *noopListen != "" {
		if err := serveNoop(*noopListen); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: no-op server:", err)
			os.Exit(1)
		}
		return
	}

	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(opts options) error {
	if opts.extauthz == "" {
		return errors.New("--extauthz is required: build cmd/extauthz and pass its path")
	}
	if opts.rounds < 1 || opts.freshTokens < 1 {
		return errors.New("--rounds and --fresh-tokens must be at least 1")
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

	// Load on the machine changes while the test runs, so the no-op server
	// and the sidecar take turns, and each round yields one ratio.
	var rounds []round
	for i := range opts.rounds {
		var current round
		fmt.Fprintf(os.Stderr, "round %d of %d: no-op server, then sidecar with a cached token\n", i+1, opts.rounds)
		if current.noop, err = runner.run("no-op server", noopAddress, cachedData, "-z", opts.duration.String()); err != nil {
			return err
		}
		if current.cached, err = runner.run("sidecar, cached token", sidecar.grpcAddress, cachedData, "-z", opts.duration.String()); err != nil {
			return err
		}
		rounds = append(rounds, current)
	}
	fmt.Fprintln(os.Stderr, "sidecar with fresh tokens")
	fresh, err := runner.run("sidecar, fresh tokens", sidecar.grpcAddress, freshData, "-n", strconv.Itoa(opts.freshTokens))
	if err != nil {
		return err
	}

	if err := sidecar.requireNoDenials(); err != nil {
		return err
	}

	goBench, err := readGoBench(opts.goBench)
	if err != nil {
		return err
	}
	report := formatReport(opts, rounds, fresh, goBench)
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

// round is one turn of the no-op server and the sidecar on a cached token.
type round struct {
	noop   result
	cached result
}

func (r round) ratio() float64 {
	if r.noop.rps == 0 {
		return 0
	}
	return r.cached.rps / r.noop.rps
}

func formatReport(opts options, rounds []round, fresh result, goBench []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured on %s with `extauthz/bench/run.sh`. Machine: %d CPUs, %s, %s. ghz, both servers (each its own process) and the stand-in issuer share the CPUs, so the figures move with anything else the machine runs.\n\n",
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

	fmt.Fprintf(&b, "Check over gRPC on loopback, driven by ghz with %d concurrent calls over one connection. "+
		"The no-op server allows every request without reading it, so it is the ceiling of the gRPC stack on this machine. "+
		"Each round loads the no-op server and then the sidecar, with the same request and a token the sidecar has cached, for %s each.\n\n",
		opts.concurrency, opts.duration)
	fmt.Fprintln(&b, "| round | no-op checks/s | no-op p50 | no-op p99 | sidecar checks/s | sidecar p50 | sidecar p99 | sidecar / no-op |")
	fmt.Fprintln(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	ratios := make([]float64, len(rounds))
	for i, r := range rounds {
		ratios[i] = r.ratio()
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %.0f | %s | %s | %.2f |\n", i+1,
			r.noop.rps, formatLatency(r.noop.p50), formatLatency(r.noop.p99),
			r.cached.rps, formatLatency(r.cached.p50), formatLatency(r.cached.p99), ratios[i])
	}
	slices.Sort(ratios)
	fmt.Fprintf(&b, "\nMedian over %d rounds: cached checks reach %.2f× the no-op server's throughput (target: 0.8× or better).\n\n",
		len(rounds), ratios[len(ratios)/2])

	fmt.Fprintf(&b, "Fresh tokens, each sent once, so every check verifies an ES256 signature: %d checks at %.0f checks/s, p50 %s, p99 %s.\n",
		fresh.count, fresh.rps, formatLatency(fresh.p50), formatLatency(fresh.p99))
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
