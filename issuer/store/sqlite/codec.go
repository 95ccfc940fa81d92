package sqlite

import (
	"encoding/json"
	"fmt"
	"time"
)

// micros returns t as unix microseconds, the form times are stored in.
func micros(t time.Time) int64 {
	return t.UnixMicro()
}

// nullMicros returns *t as unix microseconds, or nil for a NULL.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros returns the UTC time of unix microseconds.
func fromMicros(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}

// timeColumn scans an INTEGER column of unix microseconds into a time.Time.
type timeColumn struct{ dst *time.Time }

func (c timeColumn) Scan(value any) error {
	us, ok := value.(int64)
	if !ok {
		return fmt.Errorf("scan time: got %T, want INTEGER unix microseconds", value)
	}
	*c.dst = fromMicros(us)
	return nil
}

// nullTimeColumn scans a nullable INTEGER column of unix microseconds into a
// *time.Time, nil for NULL.
type nullTimeColumn struct{ dst **time.Time }

func (c nullTimeColumn) Scan(value any) error {
	if value == nil {
		*c.dst = nil
		return nil
	}
	us, ok := value.(int64)
	if !ok {
		return fmt.Errorf("scan time: got %T, want INTEGER unix microseconds or NULL", value)
	}
	t := fromMicros(us)
	*c.dst = &t
	return nil
}

// jsonColumn scans a TEXT column of JSON into dst.
type jsonColumn struct{ dst any }

func (c jsonColumn) Scan(value any) error {
	var text []byte
	switch v := value.(type) {
	case string:
		text = []byte(v)
	case []byte:
		text = v
	default:
		return fmt.Errorf("scan JSON: got %T, want TEXT", value)
	}
	if err := json.Unmarshal(text, c.dst); err != nil {
		return fmt.Errorf("scan JSON %.64q: %w", text, err)
	}
	return nil
}

// encodeList returns list as a JSON array, [] for nil. jsonColumn reads it
// back as an empty, non-nil slice.
func encodeList[T any](list []T) (string, error) {
	if list == nil {
		return "[]", nil
	}
	text, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("encode %v as JSON: %w", list, err)
	}
	return string(text), nil
}
