package report

import (
	"maps"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   []Result
	}{
		{
			name: "result lines among headers and logs",
			output: "goos: linux\npkg: github.com/gatepass/gatepass/issuer/bench\n" +
				"2026/12/04 19:54:24 INFO applied migration\n" +
				"BenchmarkToken/sqlite/clients=32-2         \t   32304\t    253917 ns/op\t         5.649 p50-ms\t      3945 tokens/s\t   22767 B/op\t     288 allocs/op\n" +
				"BenchmarkTokenHandler/postgres-2       \t   17150\t    194490 ns/op\t   13461 B/op\t     156 allocs/op\n" +
				"PASS\nok  \tgithub.com/gatepass/gatepass/issuer/bench\t21.141s\n",
			want: []Result{
				{Name: "BenchmarkToken/sqlite/clients=32", Procs: 2, Iterations: 32304, Metrics: map[string]float64{
					"ns/op": 253917, "p50-ms": 5.649, "tokens/s": 3945, "B/op": 22767, "allocs/op": 288}},
				{Name: "BenchmarkTokenHandler/postgres", Procs: 2, Iterations: 17150, Metrics: map[string]float64{
					"ns/op": 194490, "B/op": 13461, "allocs/op": 156}},
			},
		},
		{
			name:   "name without GOMAXPROCS suffix",
			output: "BenchmarkToken/sqlite/clients=32\t10\t100 ns/op\n",
			want:   []Result{{Name: "BenchmarkToken/sqlite/clients=32", Procs: 1, Iterations: 10, Metrics: map[string]float64{"ns/op": 100}}},
		},
		{
			name:   "name of a failing benchmark before its log",
			output: "BenchmarkToken/postgres/clients=32-2\n--- FAIL: BenchmarkToken/postgres/clients=32-2\n",
			want:   nil,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(test.output))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(test.want) {
				t.Fatalf("Parse returned %d results, want %d: %+v", len(got), len(test.want), got)
			}
			for i := range got {
				if got[i].Name != test.want[i].Name || got[i].Procs != test.want[i].Procs || got[i].Iterations != test.want[i].Iterations {
					t.Errorf("result %d = %s procs %d n %d, want %s procs %d n %d", i,
						got[i].Name, got[i].Procs, got[i].Iterations, test.want[i].Name, test.want[i].Procs, test.want[i].Iterations)
				}
				if !maps.Equal(got[i].Metrics, test.want[i].Metrics) {
					t.Errorf("result %d metrics = %v, want %v", i, got[i].Metrics, test.want[i].Metrics)
				}
			}
		})
	}
}

func TestParseRejectsMalformedLines(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{name: "value without unit", line: "BenchmarkToken-2\t10\t100 ns/op\t7\n"},
		{name: "value not a number", line: "BenchmarkToken-2\t10\tfast ns/op\n"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(test.line)); err == nil {
				t.Errorf("Parse(%q) returned no error", test.line)
			}
		})
	}
}
