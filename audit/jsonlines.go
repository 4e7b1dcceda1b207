package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

var (
	errNoWriter  = errors.New("audit: JSONLines has no writer")
	errNilRecord = errors.New("audit: nil record")
)

// JSONLines is a Sink that writes one JSON object per line. It is safe for
// concurrent use: each record is encoded first and written with a single Write
// under a lock, so lines never interleave.
type JSONLines struct {
	mu       sync.Mutex
	w        io.Writer
	failures atomic.Uint64
}

// NewJSONLines returns a JSONLines writing to w. With a nil w every Write
// fails (and is counted) rather than silently dropping records.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: w}
}

// Write encodes r as one line. ctx is not consulted: the record of a call
// whose context was canceled is exactly one an auditor needs.
func (j *JSONLines) Write(_ context.Context, r *Record) error {
	if j == nil {
		return errNoWriter
	}
	if err := j.write(r); err != nil {
		j.failures.Add(1)
		return err
	}
	return nil
}

func (j *JSONLines) write(r *Record) error {
	if j.w == nil {
		return errNoWriter
	}
	if r == nil {
		return errNilRecord
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Records are read by people and log tools, not embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // Encode appends the newline
		return fmt.Errorf("audit: encode record: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("audit: write record: %w", err)
	}
	return nil
}

// Failures is the number of records Write could not deliver (encoding or
// writer errors), so a lossy audit path is visible.
func (j *JSONLines) Failures() uint64 {
	if j == nil {
		return 0
	}
	return j.failures.Load()
}
