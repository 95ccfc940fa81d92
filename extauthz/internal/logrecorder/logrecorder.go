// Package logrecorder is an slog.Handler for the sidecar's tests that keeps
// every record in memory, so a test can check what was logged and at which
// level.
package logrecorder

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Entry is one logged record.
type Entry struct {
	Level   slog.Level
	Message string

	// Attrs maps each attribute key, groups left out, to its value as text.
	Attrs map[string]string
}

// Recorder stores the records of the loggers it makes. It is safe for
// concurrent use.
type Recorder struct {
	mu      sync.Mutex
	entries []Entry
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{}
}

// Logger returns a logger that records every level into r.
func (r *Recorder) Logger() *slog.Logger {
	return slog.New(&handler{recorder: r})
}

// Entries returns a copy of the records so far, oldest first.
func (r *Recorder) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Entry(nil), r.entries...)
}

// Matching returns the records whose message contains text.
func (r *Recorder) Matching(text string) []Entry {
	var found []Entry
	for _, entry := range r.Entries() {
		if strings.Contains(entry.Message, text) {
			found = append(found, entry)
		}
	}
	return found
}

func (r *Recorder) add(entry Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, entry)
}

// handler writes to a Recorder, adding the attributes of WithAttrs.
type handler struct {
	recorder *Recorder
	attrs    []slog.Attr
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(_ context.Context, record slog.Record) error {
	entry := Entry{Level: record.Level, Message: record.Message, Attrs: map[string]string{}}
	for _, attr := range h.attrs {
		entry.Attrs[attr.Key] = attr.Value.String()
	}
	record.Attrs(func(attr slog.Attr) bool {
		entry.Attrs[attr.Key] = attr.Value.String()
		return true
	})
	h.recorder.add(entry)
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{recorder: h.recorder, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *handler) WithGroup(string) slog.Handler { return h }
