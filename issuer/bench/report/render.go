package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Name prefixes of the benchmarks that Render reads.
const (
	endToEndPrefix = "BenchmarkToken/"
	handlerPrefix  = "BenchmarkTokenHandler/"
)

// Machine describes where the benchmarks ran.
type Machine struct {
	// CPUs is the number of CPUs the process may use, as nproc counts them.
	CPUs int

	// CPUModel is the model name from /proc/cpuinfo.
	CPUModel string

	// GoVersion is the toolchain that built the benchmarks, such as go1.26.8.
	GoVersion string

	// PostgresVersion is the server_version of the Postgres server.
	PostgresVersion string
}

// Run is one run of the token endpoint benchmarks.
type Run struct {
	// Date is when the run started.
	Date time.Time

	// Command is the command line that repeats the run.
	Command string

	// GoTest is the go test command line that Command runs.
	GoTest string

	Machine Machine
	Results []Result
}

// row is one backend's line of the results table.
type row struct {
	backend  string
	clients  string
	endToEnd Result
	handler  *Result
}

// Render returns the generated part of the issuer's section: the command,
// the machine and a table with one row per backend and client count.
func Render(run Run) string {
	var out strings.Builder
	fmt.Fprintf(&out, "Measured on %s with `%s`, which runs:\n\n", run.Date.UTC().Format(time.DateOnly), run.Command)
	fmt.Fprintf(&out, "```\n%s\n```\n\n", run.GoTest)

	m := run.Machine
	fmt.Fprintf(&out, "Machine: %d CPUs (nproc), %s, %s, PostgreSQL %s on the same machine.\n", m.CPUs, m.CPUModel, m.GoVersion, m.PostgresVersion)
	out.WriteString("The load generator (Go net/http clients with keep-alive connections, one credential each) ")
	out.WriteString("runs in the issuer's process, so client and server share the CPUs.\n\n")

	out.WriteString("| Backend | Clients | Tokens/s | p50 | p99 | Server CPU/request | Server allocs/request | Server bytes/request | Allocs/request, client and server | CPU share: benchmark process / rest of machine |\n")
	out.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows(run.Results) {
		metrics := r.endToEnd.Metrics
		cpu, allocs, bytes := "n/a", "n/a", "n/a"
		if r.handler != nil {
			cpu = formatMicros(r.handler.Metrics, "cpu-us/op")
			allocs = formatCount(r.handler.Metrics, "allocs/op")
			bytes = formatCount(r.handler.Metrics, "B/op")
		}
		fmt.Fprintf(&out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.backend, r.clients, formatCount(metrics, "tokens/s"),
			formatMillis(metrics, "p50-ms"), formatMillis(metrics, "p99-ms"),
			cpu, allocs, bytes, formatCount(metrics, "allocs/op"), formatShares(metrics))
	}

	out.WriteString("\nTokens/s, p50 and p99 come from BenchmarkToken: real HTTP on loopback to an issuer started by `app.Open` and `ServeListener`. ")
	out.WriteString("The server columns come from BenchmarkTokenHandler, which calls the issuer's whole handler in-process from as many goroutines as there are clients, ")
	out.WriteString("and so leave out what net/http spends to read a request off the connection and write the response. ")
	out.WriteString("Server CPU/request is the CPU time of the process per request, garbage collection included. ")
	out.WriteString("Unlike wall time, it does not grow when other programs hold the CPUs. ")
	out.WriteString("The client and server column is BenchmarkToken's allocs/op, both sides of the HTTP exchange. ")
	out.WriteString("The CPU column is the share of all CPUs used during the load by the benchmark process and by everything else, ")
	out.WriteString("mostly Postgres, but also any unrelated work on the machine.\n")
	return out.String()
}

// rows pairs each end-to-end result with the handler result of the same
// backend and client count, in the order of the end-to-end results.
func rows(results []Result) []row {
	handlers := map[string]*Result{}
	for i := range results {
		if shape, ok := strings.CutPrefix(results[i].Name, handlerPrefix); ok {
			handlers[shape] = &results[i]
		}
	}

	var out []row
	for _, result := range results {
		shape, ok := strings.CutPrefix(result.Name, endToEndPrefix)
		if !ok {
			continue
		}
		backend, load, _ := strings.Cut(shape, "/")
		clients := strings.TrimPrefix(load, "clients=")
		out = append(out, row{backend: backend, clients: clients, endToEnd: result, handler: handlers[shape]})
	}
	return out
}

func formatCount(metrics map[string]float64, unit string) string {
	value, ok := metrics[unit]
	if !ok {
		return "n/a"
	}
	return groupThousands(int64(math.Round(value)))
}

func formatMillis(metrics map[string]float64, unit string) string {
	value, ok := metrics[unit]
	if !ok {
		return "n/a"
	}
	return strconv.FormatFloat(value, 'f', 1, 64) + " ms"
}

func formatMicros(metrics map[string]float64, unit string) string {
	value, ok := metrics[unit]
	if !ok {
		return "n/a"
	}
	return strconv.FormatFloat(value, 'f', 0, 64) + " µs"
}

func formatShares(metrics map[string]float64) string {
	process, okProcess := metrics["cpu-process-%"]
	others, okOthers := metrics["cpu-others-%"]
	if !okProcess || !okOthers {
		return "n/a"
	}
	return fmt.Sprintf("%.0f %% / %.0f %%", process, others)
}

// groupThousands formats n with commas between groups of three digits.
func groupThousands(n int64) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var out strings.Builder
	for i, digit := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out.WriteByte(',')
		}
		out.WriteRune(digit)
	}
	return sign + out.String()
}
