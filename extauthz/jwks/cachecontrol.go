package jwks

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// refreshDelay returns how long the JWK Set in a response stays fresh: its
// Cache-Control max-age less its Age (RFC 9111, section 4.2), clamped to
// [minDelay, maxDelay]. Without max-age the delay is maxDelay, and no-cache
// or no-store make it minDelay.
func refreshDelay(header http.Header, minDelay, maxDelay time.Duration) time.Duration {
	maxAge, found := parseMaxAge(header.Values("Cache-Control"))
	if !found {
		return maxDelay
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(header.Get("Age")), 10, 64); err == nil && age > 0 {
		maxAge -= time.Duration(age) * time.Second
	}
	return min(max(maxAge, minDelay), maxDelay)
}

// parseMaxAge finds the max-age directive among Cache-Control values. A
// no-cache or no-store directive counts as max-age=0. Malformed values are
// ignored, as RFC 9111 section 4.2.1 requires of caches.
func parseMaxAge(values []string) (time.Duration, bool) {
	var maxAge time.Duration
	found := false
	for _, value := range values {
		for _, directive := range strings.Split(value, ",") {
			name, argument, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				return 0, true
			case "max-age":
				seconds, err := strconv.ParseInt(strings.Trim(argument, `"`), 10, 64)
				if err != nil || seconds < 0 {
					continue
				}
				// Cap before converting, so a huge value cannot overflow.
				maxAge = time.Duration(min(seconds, int64(365*24*time.Hour/time.Second))) * time.Second
				found = true
			}
		}
	}
	return maxAge, found
}
