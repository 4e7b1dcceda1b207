package audit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
)

func chainRecord(i int) *audit.Record {
	return &audit.Record{
		Time:       time.Unix(1700000000+int64(i), 123456789).UTC(),
		CallID:     fmt.Sprintf("call_%d", i),
		Tool:       "send_email",
		Effect:     "write",
		ArgsDigest: "sha256:00",
		Args:       map[string]any{"to": "bob@example.com", "n": json.Number("12345678901234567890"), "html": "<b>&</b>", "ünï": "çødé"},
		Allow:      i%2 == 0,
		Reasons:    []audit.Reason{{Code: "allowed", Message: "<ok> & fine"}},
		Outcome:    audit.StatusOK,
		DurationMS: 1.5,
	}
}

// chainedLog writes n records with a hash chain under key and returns the
// lines (each with its newline) and the sink.
func chainedLog(t *testing.T, key []byte, n int) ([]string, *audit.JSONLines) {
	t.Helper()
	var buf bytes.Buffer
	sink := audit.NewJSONLines(&buf, audit.WithHashChain(key))
	for i := range n {
		require.NoError(t, sink.Write(context.Background(), chainRecord(i)))
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	return lines[:len(lines)-1], sink
}

func TestHashChainVerifies(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		t.Run(fmt.Sprintf("key=%t", key != nil), func(t *testing.T) {
			lines, sink := chainedLog(t, key, 5)
			require.Len(t, lines, 5)
			prefix := "sha256:"
			if key != nil {
				prefix = "hmac-sha256:"
			}
			var first map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
			require.Equal(t, "", first["prev"])
			require.True(t, strings.HasPrefix(first["chain"].(string), prefix))
			require.Contains(t, lines[0], `"<b>&</b>"`, "no HTML escaping")

			n, head, err := audit.VerifyJSONLinesHead(strings.NewReader(strings.Join(lines, "")), key)
			require.NoError(t, err)
			require.Equal(t, 5, n)
			require.Equal(t, sink.Head(), head)
			require.Zero(t, sink.Failures())

			// Canonical JSON: re-serializing a line (keys reordered, spaces)
			// does not break the chain.
			var v map[string]any
			dec := json.NewDecoder(strings.NewReader(lines[2]))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&v))
			pretty, err := json.MarshalIndent(v, "", "")
			require.NoError(t, err)
			relaid := append([]string{}, lines...)
			relaid[2] = strings.ReplaceAll(string(pretty), "\n", " ") + "\n"
			n, err = audit.VerifyJSONLines(strings.NewReader(strings.Join(relaid, "")), key)
			require.NoError(t, err)
			require.Equal(t, 5, n)

			n, err = audit.VerifyJSONLines(strings.NewReader(""), key)
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}

// The chain format, computed here independently of the package: each
// line's chain is hex(H(prev || canonical JSON of the line without prev and
// chain)), H being SHA-256, or HMAC-SHA256 under the key.
func TestHashChainFormat(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		t.Run(fmt.Sprintf("key=%t", key != nil), func(t *testing.T) {
			lines, _ := chainedLog(t, key, 3)
			prev := ""
			for _, line := range lines {
				var v map[string]any
				dec := json.NewDecoder(strings.NewReader(line))
				dec.UseNumber()
				require.NoError(t, dec.Decode(&v))
				require.Equal(t, prev, v["prev"])
				got := v["chain"].(string)
				delete(v, "prev")
				delete(v, "chain")
				var canon bytes.Buffer
				enc := json.NewEncoder(&canon)
				enc.SetEscapeHTML(false)
				require.NoError(t, enc.Encode(v))

				var h hash.Hash
				want := "sha256:"
				if key == nil {
					h = sha256.New()
				} else {
					h = hmac.New(sha256.New, key)
					want = "hmac-sha256:"
				}
				h.Write([]byte(prev))
				h.Write(bytes.TrimSuffix(canon.Bytes(), []byte("\n")))
				want += hex.EncodeToString(h.Sum(nil))
				require.Equal(t, want, got)
				prev = got
			}
		})
	}
}

func TestHashChainTamper(t *testing.T) {
	lines, _ := chainedLog(t, testKey, 5)
	forgedPlain, _ := chainedLog(t, nil, 5)
	edit := func(i int, from, to string) func([]string) []string {
		return func(l []string) []string {
			require.Contains(t, l[i], from)
			l[i] = strings.Replace(l[i], from, to, 1)
			return l
		}
	}
	tests := []struct {
		name     string
		tamper   func([]string) []string
		key      []byte
		wantLine int
		wantMsg  string
	}{
		{"edited value", edit(2, `"allow":true`, `"allow":false`), testKey, 3, "the line was edited"},
		{"edited args", edit(1, `bob@example.com`, `eve@example.com`), testKey, 2, "the line was edited"},
		{"added field", edit(1, `"tool":`, `"extra":1,"tool":`), testKey, 2, "the line was edited"},
		{"edited chain value", edit(3, `"chain":"hmac-sha256:`, `"chain":"hmac-sha256:0`), testKey, 4, "the line was edited"},
		{"duplicate key", edit(1, `"allow":false`, `"allow":true,"allow":false`), testKey, 2, `duplicate key "allow"`},
		{"deleted line", func(l []string) []string { return append(l[:1], l[2:]...) }, testKey, 2, "prev does not match"},
		{"deleted first line", func(l []string) []string { return l[1:] }, testKey, 1, "prev does not match"},
		{"reordered lines", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, testKey, 2, "prev does not match"},
		{"inserted copy", func(l []string) []string { return append(l[:3], append([]string{l[1]}, l[3:]...)...) }, testKey, 4, "prev does not match"},
		{"inserted forged line", func(l []string) []string {
			forged := strings.Replace(l[2], `"call_2"`, `"call_x"`, 1)
			return append(l[:3], append([]string{forged}, l[3:]...)...)
		}, testKey, 4, "prev does not match"},
		{"plain chain rewritten in place of a keyed one", func([]string) []string { return append([]string{}, forgedPlain...) }, testKey, 1, "not hmac-sha256"},
		{"wrong key", func(l []string) []string { return l }, []byte("the-wrong-key-0123"), 1, "the line was edited or forged"},
		{"no key for a keyed chain", func(l []string) []string { return l }, nil, 1, "not sha256"},
		{"blank line", func(l []string) []string { return append(l[:2], append([]string{"\n"}, l[2:]...)...) }, testKey, 3, "not a JSON record"},
		{"not an object", func(l []string) []string { return append([]string{"[1]\n"}, l...) }, testKey, 1, "not a JSON object"},
		// A copy with a duplicate key or invalid UTF-8 is refused by this
		// reader but read as a record by lenient ones: tampering, not a
		// fragment.
		{"copy with a duplicate key", func(l []string) []string {
			return append(l[:3], append([]string{strings.Replace(l[0], `{`, `{"tool":"delete_db",`, 1)}, l[3:]...)...)
		}, testKey, 4, "duplicate key"},
		{"copy with invalid UTF-8", func(l []string) []string {
			return append(l[:3], append([]string{strings.Replace(l[0], `"tool":"`, "\"tool\":\"\xff", 1)}, l[3:]...)...)
		}, testKey, 4, "UTF-8"},
		{"record replaced by a fragment", func(l []string) []string { l[2] = l[2][:30] + "\n"; return l }, testKey, 3, "not a JSON record"},
		{"fragment at the end", func(l []string) []string { return append(l, "[1]\n") }, testKey, 6, "not a JSON object"},
		{"chain fields removed", edit(0, `,"prev":""`, ``), testKey, 1, `no "prev" and "chain"`},
		{"cut mid-line", func(l []string) []string { l[4] = l[4][:20]; return l }, testKey, 5, "incomplete"},
		{"missing final newline", func(l []string) []string { l[4] = strings.TrimSuffix(l[4], "\n"); return l }, testKey, 5, "incomplete"},
		{"invalid UTF-8", edit(1, `çødé`, "\xff"), testKey, 2, "UTF-8"},
		{"trailing data", edit(1, "}\n", "} 1\n"), testKey, 2, "data after the JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tampered := tc.tamper(append([]string{}, lines...))
			n, err := audit.VerifyJSONLines(strings.NewReader(strings.Join(tampered, "")), tc.key)
			var ce *audit.ChainError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, audit.ErrChainBroken)
			require.Equal(t, tc.wantLine, ce.Line, ce.Reason)
			require.Contains(t, ce.Reason, tc.wantMsg)
			require.Equal(t, tc.wantLine-1, n, "lines before the break verified")
			require.Contains(t, err.Error(), fmt.Sprintf("audit: hash chain broken at line %d: ", tc.wantLine))
		})
	}
}

// A chain cannot show lines cut from its end; the head kept elsewhere can.
func TestHashChainTruncationNeedsHead(t *testing.T) {
	lines, sink := chainedLog(t, testKey, 4)
	n, head, err := audit.VerifyJSONLinesHead(strings.NewReader(strings.Join(lines[:3], "")), testKey)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NotEqual(t, sink.Head(), head)
}

func TestHashChainConcurrentWrites(t *testing.T) {
	var out lockedBuffer
	sink := audit.NewJSONLines(chunkWriter{dst: &out}, audit.WithHashChain(testKey))
	const writers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- sink.Write(context.Background(), chainRecord(w*each+i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n, head, err := audit.VerifyJSONLinesHead(strings.NewReader(out.String()), testKey)
	require.NoError(t, err)
	require.Equal(t, writers*each, n)
	require.Equal(t, sink.Head(), head)
}

func TestHashChainResume(t *testing.T) {
	var buf bytes.Buffer
	first := audit.NewJSONLines(&buf, audit.WithHashChain(testKey))
	for i := range 3 {
		require.NoError(t, first.Write(context.Background(), chainRecord(i)))
	}
	_, head, err := audit.VerifyJSONLinesHead(bytes.NewReader(buf.Bytes()), testKey)
	require.NoError(t, err)

	// A restarted process appends to the same log and continues its chain.
	second := audit.NewJSONLines(&buf, audit.WithChainHead(head), audit.WithHashChain(testKey))
	for i := 3; i < 5; i++ {
		require.NoError(t, second.Write(context.Background(), chainRecord(i)))
	}
	n, err := audit.VerifyJSONLines(bytes.NewReader(buf.Bytes()), testKey)
	require.NoError(t, err)
	require.Equal(t, 5, n)
}

// flakyWriter fails the writes whose numbers are in fail (counted from 0).
type flakyWriter struct {
	buf  bytes.Buffer
	n    int
	fail map[int]bool
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	defer func() { f.n++ }()
	if f.fail[f.n] {
		return 0, errDiskFull
	}
	return f.buf.Write(p)
}

// A write that fails leaves the chain where it was, so the log stays valid.
func TestHashChainWriteFailure(t *testing.T) {
	w := &flakyWriter{fail: map[int]bool{1: true, 2: true}}
	sink := audit.NewJSONLines(w, audit.WithHashChain(nil))
	for i := range 5 {
		err := sink.Write(context.Background(), chainRecord(i))
		if w.fail[i] {
			require.ErrorIs(t, err, errDiskFull)
		} else {
			require.NoError(t, err)
		}
	}
	require.Equal(t, uint64(2), sink.Failures())
	n, err := audit.VerifyJSONLines(bytes.NewReader(w.buf.Bytes()), nil)
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

func TestHashChainBadOptions(t *testing.T) {
	plainHead := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		opts    []audit.JSONLinesOption
		wantMsg string
	}{
		{"empty key", []audit.JSONLinesOption{audit.WithHashChain([]byte{})}, "audit: HMAC key of 0 bytes is shorter than 16"},
		{"short key", []audit.JSONLinesOption{audit.WithHashChain([]byte("short"))}, "shorter than 16"},
		{"head without chain", []audit.JSONLinesOption{audit.WithChainHead(plainHead)}, "WithChainHead needs WithHashChain"},
		{"head of another kind", []audit.JSONLinesOption{audit.WithHashChain(testKey), audit.WithChainHead(plainHead)}, "WithChainHead needs WithHashChain"},
		{"garbage head", []audit.JSONLinesOption{audit.WithHashChain(nil), audit.WithChainHead("sha256:xyz")}, "WithChainHead needs WithHashChain"},
		{"nil option", []audit.JSONLinesOption{nil}, "audit: nil JSONLinesOption"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			sink := audit.NewJSONLines(&buf, tc.opts...)
			err := sink.Write(context.Background(), chainRecord(0))
			require.ErrorContains(t, err, tc.wantMsg)
			require.Equal(t, uint64(1), sink.Failures())
			require.Zero(t, buf.Len(), "nothing written")
		})
	}

	_, err := audit.VerifyJSONLines(strings.NewReader(""), []byte("short"))
	require.ErrorContains(t, err, "shorter than 16")
	_, err = audit.VerifyJSONLines(nil, nil)
	require.EqualError(t, err, "audit: VerifyJSONLines: nil reader")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errDiskFull }

func TestVerifyJSONLinesReadError(t *testing.T) {
	_, err := audit.VerifyJSONLines(errReader{}, nil)
	require.ErrorIs(t, err, errDiskFull)
	require.False(t, errors.Is(err, audit.ErrChainBroken))
}

func FuzzVerifyJSONLines(f *testing.F) {
	var buf bytes.Buffer
	sink := audit.NewJSONLines(&buf, audit.WithHashChain(nil))
	for i := range 3 {
		require.NoError(f, sink.Write(context.Background(), chainRecord(i)))
	}
	f.Add(buf.Bytes())
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"prev":"","chain":"sha256:00","a":[[[{}]]]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := audit.VerifyJSONLines(bytes.NewReader(data), nil)
		lines := bytes.Count(data, []byte("\n"))
		require.LessOrEqual(t, n, lines)
		if err == nil {
			require.Equal(t, lines, n)
			require.True(t, len(data) == 0 || data[len(data)-1] == '\n')
		}
	})
}

// A hash-chained log: every line carries the chain value of the line before
// it, so an edited, deleted or reordered line is found by VerifyJSONLines.
func ExampleWithHashChain() {
	var log bytes.Buffer
	sink := audit.NewJSONLines(&log, audit.WithHashChain([]byte("0123456789abcdef-example-key")))
	for _, id := range []string{"call_1", "call_2"} {
		_ = sink.Write(context.Background(), &audit.Record{
			Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), CallID: id,
			Tool: "read_file", Effect: "read", Allow: true, Outcome: audit.StatusOK,
		})
	}
	n, err := audit.VerifyJSONLines(bytes.NewReader(log.Bytes()), []byte("0123456789abcdef-example-key"))
	fmt.Println(n, err)

	tampered := bytes.Replace(log.Bytes(), []byte(`"call_1"`), []byte(`"call_9"`), 1)
	n, err = audit.VerifyJSONLines(bytes.NewReader(tampered), []byte("0123456789abcdef-example-key"))
	fmt.Println(n, err)
	// Output:
	// 2 <nil>
	// 0 audit: hash chain broken at line 1: the chain value does not match the record (the line was edited or forged)
}

// Lines that are not records, with the chain running unbroken around them,
// are what writes cut short leave: every record verifies, and the error
// names those lines apart from tampering.
func TestHashChainTornLines(t *testing.T) {
	lines, _ := chainedLog(t, testKey, 5)
	for name, tc := range map[string]struct {
		tamper func([]string) []string
		torn   []int
	}{
		"one, cut mid-record": {func(l []string) []string { return append(l[:2], append([]string{l[3][:40] + "\n"}, l[2:]...)...) }, []int{3}},
		"cut in a character":  {func(l []string) []string { return append([]string{l[1][:strings.Index(l[1], "çø")+1] + "\n"}, l...) }, []int{1}},
		"two in a row":        {func(l []string) []string { return append(l[:1], append([]string{`{"a":` + "\n", "{\n"}, l[1:]...)...) }, []int{2, 3}},
	} {
		t.Run(name, func(t *testing.T) {
			n, head, err := audit.VerifyJSONLinesHead(strings.NewReader(strings.Join(tc.tamper(append([]string{}, lines...)), "")), testKey)
			var te *audit.TornWriteError
			require.ErrorAs(t, err, &te)
			require.ErrorIs(t, err, audit.ErrTornWrite)
			require.NotErrorIs(t, err, audit.ErrChainBroken)
			require.Equal(t, tc.torn, te.Lines)
			require.Equal(t, 5, n, "every record verified")
			_, wantHead, err := audit.VerifyJSONLinesHead(strings.NewReader(strings.Join(lines, "")), testKey)
			require.NoError(t, err)
			require.Equal(t, wantHead, head)
		})
	}
}

// requireTornLines requires err to name exactly torn as lines cut short, or
// to be nil when torn is.
func requireTornLines(t *testing.T, err error, torn []int) {
	t.Helper()
	if torn == nil {
		require.NoError(t, err)
		return
	}
	var te *audit.TornWriteError
	require.ErrorAs(t, err, &te)
	require.Equal(t, torn, te.Lines)
}

// partialWriter fails its fail-th Write after passing on keep(len(p)) bytes.
type partialWriter struct {
	buf   bytes.Buffer
	calls int
	fail  int
	keep  func(n int) int
}

func (w *partialWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls != w.fail {
		return w.buf.Write(p)
	}
	n, _ := w.buf.Write(p[:w.keep(len(p))])
	return n, errors.New("disk trouble")
}

// A write that fails part of the way leaves a fragment the next line does
// not swallow, and the chain goes on from the last whole record; a write
// that reached the writer whole is in the chain, even when the writer also
// reported an error.
func TestJSONLinesFailedWritesKeepTheLogVerifiable(t *testing.T) {
	for name, tc := range map[string]struct {
		keep     func(int) int
		verified int
		torn     []int
	}{
		"half a line":             {func(n int) int { return n / 2 }, 4, []int{2}},
		"all but the newline":     {func(n int) int { return n - 1 }, 5, nil},
		"all of it, and an error": {func(n int) int { return n }, 5, nil},
		"nothing":                 {func(int) int { return 0 }, 4, nil},
	} {
		t.Run(name, func(t *testing.T) {
			w := &partialWriter{fail: 2, keep: tc.keep}
			sink := audit.NewJSONLines(w, audit.WithHashChain(testKey))
			for i := range 5 {
				err := sink.Write(context.Background(), chainRecord(i))
				require.Equal(t, i == 1, err != nil, "write %d: %v", i, err)
			}
			require.EqualValues(t, 1, sink.Failures())
			n, head, err := audit.VerifyJSONLinesHead(bytes.NewReader(w.buf.Bytes()), testKey)
			require.Equal(t, tc.verified, n)
			require.Equal(t, sink.Head(), head)
			requireTornLines(t, err, tc.torn)
		})
	}
}

// A process that crashed in the middle of a line, restarted as
// WithChainHead says (a newline added, the log verified again, the head it
// returns continued), keeps one verifiable log, whether the crash cut a
// record short or only its newline.
func TestJSONLinesResumeAfterACutLine(t *testing.T) {
	lines, _ := chainedLog(t, testKey, 3)
	for name, tc := range map[string]struct {
		tail     string
		verified int
		torn     []int
	}{
		"cut mid-record":  {lines[0][:25], 5, []int{4}},
		"cut its newline": {strings.TrimSuffix(lines[2], "\n"), 5, nil},
	} {
		t.Run(name, func(t *testing.T) {
			file := strings.Join(lines[:2], "")
			if tc.torn != nil {
				file = strings.Join(lines, "")
			}
			file += tc.tail // the crash
			_, _, err := audit.VerifyJSONLinesHead(strings.NewReader(file), testKey)
			require.ErrorContains(t, err, "incomplete")

			file += "\n"
			_, head, _ := audit.VerifyJSONLinesHead(strings.NewReader(file), testKey)
			var buf bytes.Buffer
			buf.WriteString(file)
			sink := audit.NewJSONLines(&buf, audit.WithHashChain(testKey), audit.WithChainHead(head))
			for i := range 2 {
				require.NoError(t, sink.Write(context.Background(), chainRecord(10+i)))
			}
			n, _, err := audit.VerifyJSONLinesHead(&buf, testKey)
			require.Equal(t, tc.verified, n)
			requireTornLines(t, err, tc.torn)
		})
	}
}

// A line longer than any record stops the check without reading it all.
func TestVerifyJSONLinesBoundsALine(t *testing.T) {
	lines, _ := chainedLog(t, testKey, 2)
	huge := io.MultiReader(strings.NewReader(strings.Join(lines, "")), io.LimitReader(zeros{}, 64<<20))
	n, err := audit.VerifyJSONLines(huge, testKey)
	require.Equal(t, 2, n)
	var ce *audit.ChainError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 3, ce.Line)
	require.Contains(t, ce.Reason, "longer than")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Readers disagree on a lone surrogate escape (Go reads U+FFFD), so a line
// with one is refused even when its chain value matches; pairs and other
// escapes are fine.
func TestHashChainRefusesLoneSurrogates(t *testing.T) {
	var buf bytes.Buffer
	sink := audit.NewJSONLines(&buf, audit.WithHashChain(testKey))
	r := chainRecord(0)
	r.Error = "bad byte \xff, emoji 😀"
	require.NoError(t, sink.Write(context.Background(), r))
	line := buf.String()
	require.Contains(t, line, `\ufffd`)
	n, err := audit.VerifyJSONLines(strings.NewReader(line), testKey)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	for _, edit := range []string{`\ud800`, `\udfff`, `\ud800x`, `\ud83d\u0041`} {
		edited := strings.Replace(line, `\ufffd`, edit, 1)
		_, err := audit.VerifyJSONLines(strings.NewReader(edited), testKey)
		var ce *audit.ChainError
		require.ErrorAs(t, err, &ce, edit)
		require.Contains(t, ce.Reason, "lone UTF-16 surrogate", edit)
	}
	// A pair, and an escaped backslash before "ud800", are not lone surrogates.
	for _, edit := range []string{`\ud83d\ude00`, `\\ud800`} {
		edited := strings.Replace(line, `\ufffd`, edit, 1)
		_, err := audit.VerifyJSONLines(strings.NewReader(edited), testKey)
		if err != nil {
			require.NotContains(t, err.Error(), "surrogate", edit)
		}
	}
}
