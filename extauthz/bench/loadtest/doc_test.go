package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceSection(t *testing.T) {
	block := beginMarker + "\nNEW\n" + endMarker + "\n"
	tests := []struct {
		name    string
		doc     string
		want    string
		wantErr bool
	}{
		{
			name: "section missing",
			doc:  "# Benchmarks\n\n## Issuer\n\nnumbers\n",
			want: "# Benchmarks\n\n## Issuer\n\nnumbers\n\n" + sectionHeading + "\n\n" + block,
		},
		{
			name: "markers replaced, other text kept",
			doc:  "# Benchmarks\n\n" + sectionHeading + "\n\nintro\n\n" + beginMarker + "\nOLD\n" + endMarker + "\nafter\n\n## Issuer\n",
			want: "# Benchmarks\n\n" + sectionHeading + "\n\nintro\n\n" + block + "\nafter\n\n## Issuer\n",
		},
		{
			name: "section without markers before another",
			doc:  "# Benchmarks\n\n" + sectionHeading + "\n\nintro\n\n## Issuer\n\nnumbers\n",
			want: "# Benchmarks\n\n" + sectionHeading + "\n\nintro\n\n" + block + "\n## Issuer\n\nnumbers\n",
		},
		{
			name:    "lone begin marker",
			doc:     "# Benchmarks\n\n" + beginMarker + "\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceSection(tt.doc, "NEW\n")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("replaceSection succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("replaceSection =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestUpdateDocCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := updateDoc(path, "NEW"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# Benchmarks\n\n"+sectionHeading+"\n\n"+beginMarker+"\nNEW\n") {
		t.Errorf("created document:\n%s", data)
	}
}
