package audit

import (
	"strings"
	"unicode/utf8"
)

// maxValueLen bounds every caller-supplied string the package puts on a span
// (call ids, conversation ids, model names). They come from model output or
// the agent loop; the SDK sets no length limit by default, and a megabyte id
// must not become a megabyte attribute in every exporter queue.
const maxValueLen = 256

// clean makes s a valid, bounded attribute value: invalid UTF-8 is replaced,
// and anything past maxValueLen bytes is cut at a rune boundary and marked.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxValueLen {
		return s
	}
	cut := maxValueLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
