package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		level      string
		format     string
		wantErr    bool
		wantOutput string
	}{
		{name: "text at info", level: "info", format: "text", wantOutput: "msg=hello"},
		{name: "json at debug", level: "debug", format: "json", wantOutput: `"msg":"hello"`},
		{name: "upper-case level", level: "WARN", format: "text", wantOutput: ""},
		{name: "unknown level", level: "loud", format: "text", wantErr: true},
		{name: "unknown format", level: "info", format: "xml", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var output bytes.Buffer
			logger, err := New(&output, tt.level, tt.format)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("New(%q, %q) succeeded, want an error", tt.level, tt.format)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}

			logger.Info("hello")
			if tt.wantOutput == "" && output.Len() != 0 {
				t.Errorf("info logged at level %s: %q", tt.level, output.String())
			}
			if !strings.Contains(output.String(), tt.wantOutput) {
				t.Errorf("output %q lacks %q", output.String(), tt.wantOutput)
			}
		})
	}
}
