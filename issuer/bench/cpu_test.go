package bench

import (
	"testing"
	"time"
)

func TestParseCPULine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{
			name: "busy is user, nice, system, irq and softirq",
			line: "cpu  100 20 30 5000 70 4 6 900 0 0",
			want: 1600 * time.Millisecond,
		},
		{name: "per-CPU line", line: "cpu0 1 2 3 4 5 6 7 8", wantErr: true},
		{name: "too few fields", line: "cpu 1 2 3", wantErr: true},
		{name: "not a number", line: "cpu 1 2 x 4 5 6 7", wantErr: true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := parseCPULine(test.line)
			if test.wantErr {
				if err == nil {
					t.Errorf("parseCPULine(%q) = %v, want an error", test.line, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCPULine(%q): %v", test.line, err)
			}
			if got != test.want {
				t.Errorf("parseCPULine(%q) = %v, want %v", test.line, got, test.want)
			}
		})
	}
}

func TestCPUShares(t *testing.T) {
	before := CPUSample{Process: time.Second, Machine: 10 * time.Second}
	after := CPUSample{Process: 4 * time.Second, Machine: 14 * time.Second}
	process, others := CPUShares(before, after, 2*time.Second, 2)
	if process != 75 || others != 25 {
		t.Errorf("CPUShares = %v %% and %v %%, want 75 %% and 25 %%", process, others)
	}
}

func TestSampleCPU(t *testing.T) {
	sample, err := SampleCPU()
	if err != nil {
		t.Fatalf("SampleCPU: %v", err)
	}
	if sample.Process <= 0 || sample.Machine < sample.Process {
		t.Errorf("SampleCPU = %+v, want a positive process time within the machine's", sample)
	}
}
