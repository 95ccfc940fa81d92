package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func newTestCodec(t *testing.T) *Codec {
	t.Helper()
	codec, err := NewCodec("gp", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func TestCredentialSecretRoundTrip(t *testing.T) {
	codec := newTestCodec(t)
	id := NewCredentialID()

	value, err := codec.NewCredentialSecret(id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(value, "gp_"+id) {
		t.Errorf("secret %q does not start with the prefix and id %q", value, id)
	}

	got, err := codec.ParseCredentialSecret(value)
	if err != nil {
		t.Fatalf("ParseCredentialSecret(%q) failed: %v", value, err)
	}
	if got != id {
		t.Errorf("embedded id = %q, want %q", got, id)
	}
}

func TestParseCredentialSecretRejects(t *testing.T) {
	codec := newTestCodec(t)
	valid, err := codec.NewCredentialSecret(NewCredentialID())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}

	tests := []struct {
		name  string
		value string
		want  error
	}{
		{name: "empty", value: "", want: ErrMalformed},
		{name: "other prefix", value: "xx" + valid[2:], want: ErrMalformed},
		{name: "truncated", value: valid[:len(valid)-1], want: ErrMalformed},
		{name: "extended", value: valid + "a", want: ErrMalformed},
		{name: "typo in key", value: flip(valid, 50), want: ErrChecksum},
		{name: "typo in id", value: flip(valid, 5), want: ErrChecksum},
		{name: "typo in checksum", value: flip(valid, len(valid)-1), want: ErrChecksum},
		{name: "refresh token as secret", value: codec.NewRefreshToken(), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.ParseCredentialSecret(tt.value)
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseCredentialSecret(%q) error = %v, want %v", tt.value, err, tt.want)
			}
		})
	}
}

func TestHashesAreKeyedAndDomainSeparated(t *testing.T) {
	codec := newTestCodec(t)
	other, err := NewCodec("gp", bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	value, _ := codec.NewCredentialSecret(NewCredentialID())

	if !Equal(codec.HashCredentialSecret(value), codec.HashCredentialSecret(value)) {
		t.Error("hash is not deterministic")
	}
	if Equal(codec.HashCredentialSecret(value), other.HashCredentialSecret(value)) {
		t.Error("hash does not depend on the key")
	}
	if Equal(codec.HashCredentialSecret(value), codec.HashRefreshToken(value)) {
		t.Error("credential and refresh hashes of one value are equal")
	}
}

func TestRefreshTokens(t *testing.T) {
	codec := newTestCodec(t)
	parent := codec.NewRefreshToken()

	if err := codec.CheckRefreshToken(parent); err != nil {
		t.Fatalf("CheckRefreshToken(new token) failed: %v", err)
	}
	child := codec.ChildRefreshToken(parent)
	if err := codec.CheckRefreshToken(child); err != nil {
		t.Fatalf("CheckRefreshToken(child) failed: %v", err)
	}
	if child != codec.ChildRefreshToken(parent) {
		t.Error("child derivation is not deterministic")
	}
	if child == parent || child == codec.ChildRefreshToken(codec.NewRefreshToken()) {
		t.Error("children of different parents collide")
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		valid  bool
	}{
		{"gp", true},
		{"acme2", true},
		{"", false},
		{"2gp", false},
		{"GP", false},
		{"g_p", false},
		{strings.Repeat("a", 17), false},
	}
	for _, tt := range tests {
		err := ValidatePrefix(tt.prefix)
		if (err == nil) != tt.valid {
			t.Errorf("ValidatePrefix(%q) = %v, want valid=%v", tt.prefix, err, tt.valid)
		}
	}
}

func BenchmarkParseAndHash(b *testing.B) {
	codec, _ := NewCodec("gp", bytes.Repeat([]byte{7}, 32))
	value, _ := codec.NewCredentialSecret(NewCredentialID())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.ParseCredentialSecret(value); err != nil {
			b.Fatal(err)
		}
		codec.HashCredentialSecret(value)
	}
}

func TestHashConcurrentUse(t *testing.T) {
	codec := newTestCodec(t)
	value, _ := codec.NewCredentialSecret(NewCredentialID())
	want := codec.HashCredentialSecret(value)

	done := make(chan []byte)
	for range 8 {
		go func() {
			var last []byte
			for range 200 {
				last = codec.HashCredentialSecret(value)
				codec.HashRefreshToken(value)
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; !Equal(got, want) {
			t.Fatalf("concurrent hash = %x, want %x", got, want)
		}
	}
}
