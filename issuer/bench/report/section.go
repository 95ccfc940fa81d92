package report

import "strings"

// Heading is the heading of the issuer's section of docs/benchmarks.md.
const Heading = "## Issuer: POST /token"

// Markers around the generated part of the section. Text in the section
// outside them, such as an analysis of the figures, is kept.
const (
	BeginMarker = "<!-- issuerbench: begin generated results; `make bench` replaces everything up to the end marker -->"
	EndMarker   = "<!-- issuerbench: end generated results -->"
)

// docTitle starts a benchmarks document that does not exist yet.
const docTitle = "# Benchmarks\n"

// ReplaceGenerated returns doc, the Markdown of docs/benchmarks.md, with
// generated placed between the markers of the issuer's section. It
// creates the document title, the section or the markers when they are
// missing, and leaves every other section, and the section's own text
// outside the markers, unchanged.
func ReplaceGenerated(doc, generated string) string {
	block := BeginMarker + "\n" + strings.TrimRight(generated, "\n") + "\n" + EndMarker + "\n"
	if strings.TrimSpace(doc) == "" {
		doc = docTitle
	}
	lines := strings.SplitAfter(doc, "\n")

	heading := indexLine(lines, 0, len(lines), Heading)
	if heading < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + Heading + "\n\n" + block
	}
	end := len(lines)
	for i := heading + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "## ") || strings.HasPrefix(lines[i], "# ") {
			end = i
			break
		}
	}

	begin := indexLine(lines, heading+1, end, BeginMarker)
	finish := -1
	if begin >= 0 {
		finish = indexLine(lines, begin+1, end, EndMarker)
	}
	if begin < 0 || finish < 0 {
		// No complete generated part yet: put it right under the heading,
		// above the section's own text.
		var out strings.Builder
		out.WriteString(strings.Join(lines[:heading+1], ""))
		out.WriteString("\n" + block)
		if body := strings.Trim(strings.Join(lines[heading+1:end], ""), "\n"); body != "" {
			out.WriteString("\n" + body + "\n")
		}
		if end < len(lines) {
			out.WriteString("\n" + strings.Join(lines[end:], ""))
		}
		return out.String()
	}
	return strings.Join(lines[:begin], "") + block + strings.Join(lines[finish+1:], "")
}

// indexLine returns the index of the first line in lines[from:to] that is
// text, ignoring the line break and trailing spaces, or -1.
func indexLine(lines []string, from, to int, text string) int {
	for i := from; i < to; i++ {
		if strings.TrimRight(lines[i], " \t\r\n") == text {
			return i
		}
	}
	return -1
}
