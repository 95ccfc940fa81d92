// Command issuerbench runs the token endpoint benchmarks of issuer/bench
// and writes their results into the issuer's section of
// docs/benchmarks.md. `make bench` runs it from the repository root.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/bench/report"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

// benchPackage is the package whose benchmarks run, relative to the
// repository root.
const benchPackage = "./issuer/bench"

func main() {
	docPath := flag.String("doc", "docs/benchmarks.md", "Markdown file whose issuer section receives the results")
	benchtime := flag.String("benchtime", "10s", "run time of each benchmark, as go test -benchtime takes it")
	goTool := flag.String("go", "go", "go command that runs the benchmarks")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *goTool, *benchtime, *docPath); err != nil {
		fmt.Fprintln(os.Stderr, "issuerbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, goTool, benchtime, docPath string) error {
	started := time.Now()
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkToken", "-benchtime", benchtime, "-count", "1", benchPackage}
	output, err := goTest(ctx, goTool, args)
	if err != nil {
		return err
	}
	results, err := report.Parse(bytes.NewReader(output))
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return errors.New("the benchmarks printed no results; see their output above")
	}

	machine, err := describeMachine(ctx, goTool)
	if err != nil {
		return err
	}
	generated := report.Render(report.Run{
		Date:    started,
		Command: "make bench",
		GoTest:  "go " + shellJoin(args),
		Machine: machine,
		Results: results,
	})

	doc, err := os.ReadFile(docPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", docPath, err)
	}
	if err := os.WriteFile(docPath, []byte(report.ReplaceGenerated(string(doc), generated)), 0o644); err != nil {
		return fmt.Errorf("writing results to %s: %w", docPath, err)
	}
	fmt.Printf("issuerbench: wrote the results to the %q section of %s\n", report.Heading, docPath)
	return nil
}

// goTest runs go with args, copying its output to ours as it comes, and
// returns the standard output.
func goTest(ctx context.Context, goTool string, args []string) ([]byte, error) {
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Stdout = io.MultiWriter(os.Stdout, &output)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s failed: %w", goTool, shellJoin(args), err)
	}
	return output.Bytes(), nil
}

// describeMachine collects what the results depend on: CPUs, CPU model,
// Go version and Postgres version.
func describeMachine(ctx context.Context, goTool string) (report.Machine, error) {
	goVersion, err := exec.CommandContext(ctx, goTool, "env", "GOVERSION").Output()
	if err != nil {
		return report.Machine{}, fmt.Errorf("reading the Go version with `%s env GOVERSION`: %w", goTool, err)
	}
	postgresVersion, err := postgresVersion(ctx)
	if err != nil {
		return report.Machine{}, err
	}
	return report.Machine{
		CPUs:            runtime.NumCPU(),
		CPUModel:        cpuModel("/proc/cpuinfo"),
		GoVersion:       strings.TrimSpace(string(goVersion)),
		PostgresVersion: postgresVersion,
	}, nil
}

// postgresVersion returns the server_version of the Postgres server that
// the benchmarks used: the one pgtest.NewDatabase connects to.
func postgresVersion(ctx context.Context) (string, error) {
	serverURL := os.Getenv(pgtest.EnvURL)
	if serverURL == "" {
		serverURL = pgtest.DefaultURL
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		// The benchmarks connected moments ago, so the server normally
		// responds. Fall back to its maintenance database, as pgtest does.
		config, parseErr := pgx.ParseConfig(serverURL)
		if parseErr != nil {
			return "", fmt.Errorf("reading the Postgres version: %w", parseErr)
		}
		config.Database = "postgres"
		conn, err = pgx.ConnectConfig(ctx, config)
		if err != nil {
			return "", fmt.Errorf("reading the Postgres version: %w", err)
		}
	}
	defer conn.Close(ctx)

	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "", fmt.Errorf("reading the Postgres version: %w", err)
	}
	// Debian builds append their package name, as in "15.20 (Debian ...)".
	version, _, _ = strings.Cut(version, " ")
	return version, nil
}

// cpuModel returns the first "model name" in the cpuinfo file at path,
// or "unknown CPU" where there is none.
func cpuModel(path string) string {
	file, err := os.Open(path)
	if err != nil {
		return "unknown CPU"
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		name, value, found := strings.Cut(scanner.Text(), ":")
		if found && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// shellJoin joins args into a command line a POSIX shell reads back as
// the same arguments, quoting those that need it.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, arg := range args {
		if arg != "" && strings.IndexFunc(arg, needsQuote) < 0 {
			quoted[i] = arg
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

func needsQuote(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+", r))
}
