package keys

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkSign measures Sign, the per-token cost of /token, for each
// algorithm. The "jwt.Token" cases sign the same claims through
// jwt.NewWithClaims and SignedString, for comparison.
func BenchmarkSign(b *testing.B) {
	for _, algorithm := range allAlgorithms {
		clk := newClock()
		m := startManager(b, openStore(b), mustKEK(b), testConfig(b, clk, algorithm))
		claims := testClaims(clk.Now())

		b.Run(algorithm, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Sign(claims); err != nil {
					b.Fatal(err)
				}
			}
		})

		key := m.snapshot.Load().signer(clk.Now())
		b.Run(algorithm+"/jwt.Token", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				token := jwt.NewWithClaims(key.method, claims)
				token.Header["kid"] = key.id
				token.Header["typ"] = "at+jwt"
				if _, err := token.SignedString(key.private); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
