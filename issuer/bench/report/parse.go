// Package report turns the output of the token endpoint benchmarks into
// the issuer's section of docs/benchmarks.md.
package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Result is one benchmark result line of `go test -bench` output.
type Result struct {
	// Name is the benchmark's full name without the GOMAXPROCS suffix,
	// such as "BenchmarkToken/postgres/clients=32".
	Name string

	// Procs is GOMAXPROCS during the run, from the name's "-N" suffix; 1
	// when the name has none.
	Procs int

	// Iterations is b.N of the reported run.
	Iterations int

	// Metrics maps each unit, such as "ns/op" or "tokens/s", to its value.
	Metrics map[string]float64
}

// Parse reads `go test -bench` output and returns its result lines in
// order. Other lines, such as logs and the goos and pkg header, are
// skipped.
func Parse(r io.Reader) ([]Result, error) {
	var results []Result
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		result, ok, err := parseLine(line)
		if err != nil {
			return nil, err
		}
		if ok {
			results = append(results, result)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return results, nil
}

// parseLine parses a result line: the name, the iteration count, then
// value and unit pairs. ok is false for a line that only starts like one,
// such as the name that a failing benchmark prints before its log.
func parseLine(line string) (result Result, ok bool, err error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return Result{}, false, nil
	}
	iterations, err := strconv.Atoi(fields[1])
	if err != nil {
		return Result{}, false, nil
	}
	if len(fields)%2 != 0 {
		return Result{}, false, fmt.Errorf("parsing benchmark line %q: a value has no unit", line)
	}

	result = Result{Iterations: iterations, Metrics: make(map[string]float64, len(fields)/2-1)}
	result.Name, result.Procs = splitProcs(fields[0])
	for i := 2; i < len(fields); i += 2 {
		value, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return Result{}, false, fmt.Errorf("parsing benchmark line %q: value %q of %s: %w", line, fields[i], fields[i+1], err)
		}
		result.Metrics[fields[i+1]] = value
	}
	return result, true, nil
}

// splitProcs splits the "-N" GOMAXPROCS suffix off a benchmark name.
func splitProcs(name string) (string, int) {
	dash := strings.LastIndexByte(name, '-')
	if dash < 0 {
		return name, 1
	}
	procs, err := strconv.Atoi(name[dash+1:])
	if err != nil || procs < 1 {
		return name, 1
	}
	return name[:dash], procs
}
