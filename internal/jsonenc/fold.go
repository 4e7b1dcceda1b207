package jsonenc

import (
	"unicode"
	"unicode/utf8"
)

// FoldName returns the form of an object key that encoding/json compares
// when it matches a key to a struct field: FoldName(a) == FoldName(b)
// exactly when encoding/json's Unmarshal would read key a into a field named
// b (it tries the exact name first, then this folding). ASCII letters fold to
// upper case and every other rune to the smallest rune of its Unicode simple
// case folding orbit, so "URL", "url" and "Url" are one name, and so are
// "address" and "addreſs" (U+017F, long s) and "link" and "linK" (U+212A,
// Kelvin sign). Invalid UTF-8 folds to U+FFFD, as encoding/json decodes it.
//
// The guard uses it to refuse arguments a tool's decoder would read
// differently from the guard's exact walk, and audit to redact a secret
// whatever case its key is written in.
func FoldName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'a' <= c && c <= 'z' {
			return string(AppendFoldName(make([]byte, 0, len(s)+utf8.UTFMax), s))
		}
	}
	return s // already folded: no allocation on the common path
}

// AppendFoldName appends FoldName(s) to out, so that a caller can look the
// folded form up in a map from a buffer of its own, without allocating.
func AppendFoldName(out []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune is the smallest rune of r's simple case folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// EqualFoldName reports whether FoldName(a) == FoldName(b), without
// allocating.
func EqualFoldName(a, b string) bool {
	for a != "" && b != "" {
		ra, na := foldFirst(a)
		rb, nb := foldFirst(b)
		if ra != rb {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == b // both empty
}

// foldFirst is the folded first rune of s and its length in s.
func foldFirst(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s)
	return foldRune(r), n
}
