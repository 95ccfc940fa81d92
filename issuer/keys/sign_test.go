package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
)

func TestRawECDSASignature(t *testing.T) {
	tests := []struct {
		name    string
		der     []byte
		want    []byte
		wantErr bool
	}{
		{
			name: "full-size r and s",
			der:  append(append([]byte{0x30, 0x44, 0x02, 0x20}, repeat(0x11, 32)...), append([]byte{0x02, 0x20}, repeat(0x22, 32)...)...),
			want: append(repeat(0x11, 32), repeat(0x22, 32)...),
		},
		{
			name: "r with a sign byte and short s",
			der:  append(append([]byte{0x30, 0x42, 0x02, 0x21, 0x00}, repeat(0x81, 32)...), append([]byte{0x02, 0x1d}, repeat(0x33, 29)...)...),
			want: append(repeat(0x81, 32), append(repeat(0x00, 3), repeat(0x33, 29)...)...),
		},
		{
			name: "one-byte values",
			der:  []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07},
			want: append(append(repeat(0x00, 31), 0x05), append(repeat(0x00, 31), 0x07)...),
		},
		{name: "r longer than the curve size", der: append([]byte{0x30, 0x25, 0x02, 0x21, 0x01}, append(repeat(0x01, 32), 0x02, 0x01, 0x01)...), wantErr: true},
		{name: "negative s", der: []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x80}, wantErr: true},
		{name: "trailing bytes", der: []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07, 0x00}, wantErr: true},
		{name: "one integer", der: []byte{0x30, 0x03, 0x02, 0x01, 0x05}, wantErr: true},
		{name: "empty", der: nil, wantErr: true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := rawECDSASignature(test.der, es256ScalarSize)
			if test.wantErr {
				if err == nil {
					t.Errorf("rawECDSASignature(%x) = %x, want an error", test.der, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("rawECDSASignature(%x): %v", test.der, err)
			}
			if !bytes.Equal(got, test.want) {
				t.Errorf("rawECDSASignature(%x) = %x, want %x", test.der, got, test.want)
			}
		})
	}
}

// TestES256SignaturesVerify signs enough tokens that some r or s values
// are shorter than 32 bytes, about one in 128 signatures, and checks that
// every signature verifies against the public key.
func TestES256SignaturesVerify(t *testing.T) {
	clk := newClock()
	m := startManager(t, openStore(t), mustKEK(t), testConfig(t, clk, ES256))
	key := m.snapshot.Load().signer(clk.Now())
	public := key.private.Public().(*ecdsa.PublicKey)

	for i := range 512 {
		token, err := key.sign(testClaims(clk.Now()))
		if err != nil {
			t.Fatalf("sign %d: %v", i, err)
		}
		dot := strings.LastIndexByte(token, '.')
		signature, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
		if err != nil || len(signature) != 2*es256ScalarSize {
			t.Fatalf("signature %d is %d bytes (decoding error %v), want %d", i, len(signature), err, 2*es256ScalarSize)
		}
		digest := sha256.Sum256([]byte(token[:dot]))
		r := new(big.Int).SetBytes(signature[:es256ScalarSize])
		s := new(big.Int).SetBytes(signature[es256ScalarSize:])
		if !ecdsa.Verify(public, digest[:], r, s) {
			t.Fatalf("signature %d does not verify: %s", i, token)
		}
	}
}

func repeat(b byte, n int) []byte {
	return bytes.Repeat([]byte{b}, n)
}
