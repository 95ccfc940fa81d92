package policy

import (
	"errors"
	"fmt"
	"strings"
)

// CanonicalPath returns the path of a request target without its query and
// fragment, after checking that it is in the form the rules are matched
// against. It rejects paths that an upstream could resolve to another path
// than the one matched. Those contain dot segments, empty segments ("//"),
// backslashes, ";" path parameters, percent-encoded characters that decode
// to "/", "\" or an unreserved character, malformed percent-encoding, or
// bytes that are not printable ASCII. Envoy's normalize_path and
// merge_slashes options produce paths that pass, unless the client sent a
// ";".
func CanonicalPath(target string) (string, error) {
	path := target
	if end := strings.IndexAny(path, "?#"); end >= 0 {
		path = path[:end]
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %.64q does not start with /", target)
	}

	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c <= 0x20 || c >= 0x7f:
			return "", fmt.Errorf("path has byte %#x at offset %d, which is not printable ASCII", c, i)
		case c == '\\':
			return "", errors.New(`path contains a backslash`)
		case c == ';':
			// Servlet containers such as Tomcat strip ";parameters" from each
			// segment before resolving dot segments, so they serve
			// /reports/..;/admin as /admin.
			return "", fmt.Errorf("path contains a ';' at offset %d: path parameters are rejected because upstreams differ on how they strip them", i)
		case c == '%':
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return "", fmt.Errorf("path has malformed percent-encoding at offset %d", i)
			}
			decoded := unhex(path[i+1])<<4 | unhex(path[i+2])
			if decoded == '/' || decoded == '\\' || isUnreserved(decoded) {
				return "", fmt.Errorf("path percent-encodes %q at offset %d, which must appear unencoded", decoded, i)
			}
		}
	}

	for rest := path[1:]; ; {
		segment, next, more := strings.Cut(rest, "/")
		switch {
		case segment == "." || segment == "..":
			return "", fmt.Errorf("path contains the dot segment %q", segment)
		case segment == "" && more:
			return "", errors.New("path contains an empty segment (//)")
		}
		if !more {
			return path, nil
		}
		rest = next
	}
}

// isUnreserved reports whether c is an RFC 3986 unreserved character, which
// normalizers decode when percent-encoded.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
