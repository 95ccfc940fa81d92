package report

import "testing"

func TestReplaceGenerated(t *testing.T) {
	block := BeginMarker + "\nnew results\n" + EndMarker + "\n"
	sidecar := "## ext_authz sidecar\n\nSidecar figures.\n"
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "no document",
			doc:  "",
			want: "# Benchmarks\n\n" + Heading + "\n\n" + block,
		},
		{
			name: "only the sidecar section",
			doc:  "# Benchmarks\n\n" + sidecar,
			want: "# Benchmarks\n\n" + sidecar + "\n" + Heading + "\n\n" + block,
		},
		{
			name: "section with old results, analysis and the sidecar after it",
			doc: "# Benchmarks\n\n" + Heading + "\n\n" + BeginMarker + "\nold results\n" + EndMarker + "\n\n" +
				"### What bounds it\n\nSigning.\n\n" + sidecar,
			want: "# Benchmarks\n\n" + Heading + "\n\n" + block + "\n" +
				"### What bounds it\n\nSigning.\n\n" + sidecar,
		},
		{
			name: "sidecar section first",
			doc:  "# Benchmarks\n\n" + sidecar + "\n" + Heading + "\n\n" + BeginMarker + "\nold results\n" + EndMarker + "\n",
			want: "# Benchmarks\n\n" + sidecar + "\n" + Heading + "\n\n" + block,
		},
		{
			name: "section without markers keeps its text below the results",
			doc:  "# Benchmarks\n\n" + Heading + "\n\nNotes written by hand.\n\n" + sidecar,
			want: "# Benchmarks\n\n" + Heading + "\n\n" + block + "\nNotes written by hand.\n\n" + sidecar,
		},
		{
			name: "end marker in the next section only",
			doc:  "# Benchmarks\n\n" + Heading + "\n\n" + BeginMarker + "\nold\n\n" + sidecar + EndMarker + "\n",
			want: "# Benchmarks\n\n" + Heading + "\n\n" + block + "\n" + BeginMarker + "\nold\n\n" + sidecar + EndMarker + "\n",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := ReplaceGenerated(test.doc, "new results\n")
			if got != test.want {
				t.Errorf("ReplaceGenerated returned\n%s\nwant\n%s", got, test.want)
			}
			if again := ReplaceGenerated(got, "new results\n"); again != got {
				t.Errorf("a second ReplaceGenerated changed the document to\n%s", again)
			}
		})
	}
}
