package jwks

import (
	"testing"
)

// FuzzParseKeySet checks that no JWK Set document makes ParseKeySet panic,
// and that every key it returns carries a kid and a public key.
func FuzzParseKeySet(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"ZYRrqCUam2eWU2TJUrMm3LRt1rmCEtTb_q3YWHl8SZg","y":"tAuIZbIK26R7xB2rWLypo-nMYDJrpZGB_J7PSnFjfDI"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","kid":"e","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, document []byte) {
		keys, _, err := ParseKeySet(document)
		if err != nil {
			return
		}
		for _, key := range keys {
			if key.ID == "" || key.Public == nil {
				t.Fatalf("ParseKeySet returned key %+v without kid or public key", key)
			}
		}
	})
}
