package secret

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encodeBase62 encodes 32 bytes as exactly keyLength base62 digits, most
// significant first.
func encodeBase62(raw []byte) string {
	// Long division of the big-endian number in raw by 62, repeated.
	number := append([]byte(nil), raw...)
	out := make([]byte, keyLength)
	for i := keyLength - 1; i >= 0; i-- {
		var remainder uint32
		for j := range number {
			accumulator := remainder<<8 | uint32(number[j])
			number[j] = byte(accumulator / 62)
			remainder = accumulator % 62
		}
		out[i] = base62Digits[remainder]
	}
	return string(out)
}

// encodeBase62Uint encodes v as exactly width base62 digits.
func encodeBase62Uint(v uint64, width int) string {
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		out[i] = base62Digits[v%62]
		v /= 62
	}
	return string(out)
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
