package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Markers around the generated part of the sidecar's section of the
// benchmark document. Text outside them is kept.
const (
	sectionHeading = "## ext_authz sidecar"
	beginMarker    = "<!-- extauthzbench: begin generated results; extauthz/bench/run.sh --doc replaces everything up to the end marker -->"
	endMarker      = "<!-- extauthzbench: end generated results -->"
)

// updateDoc writes generated into the sidecar's section of the Markdown
// document at path. It creates the document, the section or the markers
// when they are missing, and leaves every other section alone.
func updateDoc(path, generated string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data = []byte("# Benchmarks\n")
	} else if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	updated, err := replaceSection(string(data), generated)
	if err != nil {
		return fmt.Errorf("updating %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// replaceSection returns doc with the generated block of the sidecar's
// section set to generated.
func replaceSection(doc, generated string) (string, error) {
	block := beginMarker + "\n" + strings.TrimRight(generated, "\n") + "\n" + endMarker + "\n"

	begin := strings.Index(doc, beginMarker)
	end := strings.Index(doc, endMarker)
	switch {
	case begin >= 0 && end > begin:
		return doc[:begin] + block + doc[end+len(endMarker):], nil
	case begin >= 0 || end >= 0:
		return "", errors.New("the document has only one of the extauthzbench markers: restore the other or remove both")
	}

	heading := strings.Index(doc, "\n"+sectionHeading+"\n")
	if heading < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + sectionHeading + "\n\n" + block, nil
	}
	// Insert the block at the end of the section, before the next heading
	// of the same level.
	sectionStart := heading + 1 + len(sectionHeading) + 1
	sectionEnd := len(doc)
	if next := strings.Index(doc[sectionStart:], "\n## "); next >= 0 {
		sectionEnd = sectionStart + next + 1
	}
	section := strings.TrimRight(doc[sectionStart:sectionEnd], "\n")
	return doc[:sectionStart] + section + "\n\n" + block + "\n" + doc[sectionEnd:], nil
}
