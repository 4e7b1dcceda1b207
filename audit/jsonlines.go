package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// lineBufs holds line buffers: the line is written before write returns
// (appendChain copies it when it grows), so a buffer is free again after.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

var (
	errNoWriter  = errors.New("audit: JSONLines has no writer")
	errNilRecord = errors.New("audit: nil record")
)

// JSONLines is a Sink that writes one JSON object per line. It is safe for
// concurrent use: each record is encoded first and written with a single Write
// under a lock, so lines never interleave (and, with a hash chain, each line
// links to the one written before it).
type JSONLines struct {
	mu       sync.Mutex
	w        io.Writer
	chain    *chain // nil: no hash chain
	head     string // chain value of the last line written; guarded by mu
	torn     bool   // the last line reached the writer in part: the next starts with a newline; guarded by mu
	err      error  // a bad option: every Write fails with it
	failures atomic.Uint64
}

// JSONLinesOption configures a JSONLines.
type JSONLinesOption interface{ applyJSONLines(*JSONLines) }

type jsonLinesOptionFunc func(*JSONLines)

func (f jsonLinesOptionFunc) applyJSONLines(j *JSONLines) { f(j) }

// WithHashChain makes the log tamper-evident: every line gets "prev", the
// chain value of the line before it ("" for the first), and "chain", the
// HMAC-SHA256 under key of prev followed by the canonical JSON of the record
// without those two fields. A nil key gives a plain SHA-256 chain, which shows
// accidental and careless edits but not a rewrite by someone who can run the
// same code; a key of fewer than [MinKeyLen] bytes makes every Write fail.
// Check a log with [VerifyJSONLines].
func WithHashChain(key []byte) JSONLinesOption {
	return jsonLinesOptionFunc(func(j *JSONLines) {
		if err := checkKey(key); err != nil {
			j.err = errors.Join(j.err, err)
			return
		}
		c := chain{}
		if key != nil {
			c.key = bytes.Clone(key)
		}
		j.chain = &c
	})
}

// WithChainHead continues an existing chained log whose last chain value is
// head (from [VerifyJSONLinesHead] or an earlier [JSONLines.Head]), so that a
// restarted process appending to the same file keeps one unbroken chain. It
// needs WithHashChain; a head that is not a chain value of the same kind makes
// every Write fail. When VerifyJSONLinesHead reports the last line incomplete
// (a crash in the middle of a write), end the file with a newline and verify
// again, then continue from the head that returns: a whole record that only
// lacked its newline is then in the chain, and the start of one stays a
// fragment of its own ([ErrTornWrite] once a record follows it) instead of
// swallowing the next record.
func WithChainHead(head string) JSONLinesOption {
	return jsonLinesOptionFunc(func(j *JSONLines) { j.head = head })
}

// NewJSONLines returns a JSONLines writing to w. With a nil w, or a bad
// option, every Write fails (and is counted) rather than silently dropping
// records.
func NewJSONLines(w io.Writer, opts ...JSONLinesOption) *JSONLines {
	j := &JSONLines{w: w}
	for _, o := range opts {
		if o == nil {
			j.err = errors.Join(j.err, errors.New("audit: nil JSONLinesOption"))
			continue
		}
		o.applyJSONLines(j)
	}
	if j.head != "" && (j.chain == nil || !validLink(j.head, j.chain.prefix())) {
		j.err = errors.Join(j.err, errors.New("audit: WithChainHead needs WithHashChain and a chain value of the same kind"))
	}
	return j
}

func validLink(s, prefix string) bool {
	hexPart, ok := strings.CutPrefix(s, prefix)
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range hexPart {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
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
	if j.err != nil {
		return j.err
	}
	if j.w == nil {
		return errNoWriter
	}
	if r == nil {
		return errNilRecord
	}
	bp := lineBufs.Get().(*[]byte)
	line, err := appendRecord((*bp)[:0], r)
	if err != nil {
		lineBufs.Put(bp)
		return fmt.Errorf("audit: encode record: %w", err)
	}
	line = append(line, '\n')
	defer func() {
		if cap(line) <= 64<<10 { // one huge record does not stay in the pool
			*bp = line
			lineBufs.Put(bp)
		}
	}()
	var canon []byte
	if j.chain != nil {
		var err error
		if canon, err = canonicalize(bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			return fmt.Errorf("audit: encode record: %w", err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	link := ""
	if j.chain != nil {
		// Linked under the lock: the order of the chain is the order of the file.
		link = j.chain.link(j.head, canon)
		line = appendChain(line, j.head, link)
	}
	return j.writeLine(line, link)
}

// writeLine writes line and keeps the chain and the line boundary true to
// what reached the writer. A line that reached it whole (its newline aside)
// is in the log: the head moves on, even if the writer also reported an
// error (a failed sync, say). A line that reached it in part is a fragment:
// the head stays, so the next line links to the last whole one, and starts
// with a newline, so it is not glued to the fragment. VerifyJSONLines tells
// such a fragment from tampering (ErrTornWrite). Called with mu held.
func (j *JSONLines) writeLine(line []byte, link string) error {
	out, prefix := line, 0
	if j.torn {
		out, prefix = append(append(make([]byte, 0, len(line)+1), '\n'), line...), 1
	}
	n, err := j.w.Write(out)
	n = min(max(n, 0), len(out))
	if prefix == 1 && n > 0 {
		j.torn = false // the fragment is ended
	}
	switch got := max(n-prefix, 0); {
	case got >= len(line)-1:
		if j.chain != nil {
			j.head = link
		}
		j.torn = j.torn || got < len(line)
	case got > 0:
		j.torn = true
	}
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil {
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

// Head is the chain value of the last line written ("" before the first, or
// without WithHashChain). Publishing it elsewhere from time to time lets
// [VerifyJSONLinesHead] show lines cut from the end of the log.
func (j *JSONLines) Head() string {
	if j == nil {
		return ""
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.head
}
