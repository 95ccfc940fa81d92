package report

import (
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	run := Run{
		Date:    time.Date(2026, 12, 4, 23, 30, 0, 0, time.FixedZone("UTC-5", -5*3600)),
		Command: "make bench",
		GoTest:  "go test -bench '^BenchmarkToken' ./issuer/bench",
		Machine: Machine{CPUs: 2, CPUModel: "Intel(R) Xeon(R) Processor", GoVersion: "go1.26.8", PostgresVersion: "15.20"},
		Results: []Result{
			{Name: "BenchmarkToken/sqlite/clients=32", Procs: 2, Metrics: map[string]float64{
				"tokens/s": 3945.4, "p50-ms": 5.649, "p99-ms": 39.86, "allocs/op": 288, "cpu-process-%": 91.2, "cpu-others-%": 3.4}},
			{Name: "BenchmarkToken/postgres/clients=32", Procs: 2, Metrics: map[string]float64{
				"tokens/s": 12911, "p50-ms": 8.702, "p99-ms": 38.31, "allocs/op": 254}},
			{Name: "BenchmarkTokenHandler/postgres/clients=8", Procs: 2, Metrics: map[string]float64{"allocs/op": 150, "B/op": 13000, "cpu-us/op": 95}},
			{Name: "BenchmarkTokenHandler/sqlite/clients=32", Procs: 2, Metrics: map[string]float64{"allocs/op": 192, "B/op": 14237, "cpu-us/op": 89.6}},
		},
	}
	got := Render(run)

	for _, want := range []string{
		"Measured on 2026-12-05 with `make bench`",
		"```\ngo test -bench '^BenchmarkToken' ./issuer/bench\n```",
		"Machine: 2 CPUs (nproc), Intel(R) Xeon(R) Processor, go1.26.8, PostgreSQL 15.20",
		"| sqlite | 32 | 3,945 | 5.6 ms | 39.9 ms | 90 µs | 192 | 14,237 | 288 | 91 % / 3 % |\n",
		"| postgres | 32 | 12,911 | 8.7 ms | 38.3 ms | n/a | n/a | n/a | 254 | n/a |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render output lacks %q; it is:\n%s", want, got)
		}
	}
	if strings.Index(got, "| sqlite |") > strings.Index(got, "| postgres |") {
		t.Errorf("rows are not in the order of the results:\n%s", got)
	}
}

func TestGroupThousands(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{n: 0, want: "0"},
		{n: 999, want: "999"},
		{n: 1000, want: "1,000"},
		{n: 123456, want: "123,456"},
		{n: 1234567, want: "1,234,567"},
		{n: -4500, want: "-4,500"},
	}
	for _, test := range tests {
		if got := groupThousands(test.n); got != test.want {
			t.Errorf("groupThousands(%d) = %q, want %q", test.n, got, test.want)
		}
	}
}
