package bundleserver

import (
	"strconv"
	"strings"
	"time"
)

// maxPreferences bounds the work one request's Prefer headers can cause.
const maxPreferences = 16

// preferredWait reads the wait a client prefers (RFC 7240 "Prefer:
// wait=<seconds>", as OPA sends it: "modes=snapshot,delta;wait=30"),
// capped at max. No wait, or one that is not a whole positive number of
// seconds, is 0: the request is answered at once.
func preferredWait(values []string, max time.Duration) time.Duration {
	seen := 0
	for _, v := range values {
		for pref := range strings.SplitSeq(v, ";") {
			if seen++; seen > maxPreferences {
				return 0
			}
			name, val, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			secs, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
			if err != nil || secs == 0 {
				return 0
			}
			return min(time.Duration(secs)*time.Second, max)
		}
	}
	return 0
}

// matches says whether an If-None-Match header names etag: a list of
// entity tags, weak ones compared weakly, "*" matching any (RFC 9110
// 13.1.2). OPA sends the current ETag and those it superseded.
func matches(values []string, etag string) bool {
	seen := 0
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			if seen++; seen > maxPreferences {
				return false
			}
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == etag {
				return true
			}
		}
	}
	return false
}
