package claims

import (
	"encoding/json"
	"testing"
)

func TestScopeClaimDecoding(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string
		wantErr bool
	}{
		{name: "space-separated scope", payload: `{"scope":"read write"}`, want: "read write"},
		{name: "array scope", payload: `{"scope":["write","read"]}`, want: "read write"},
		{name: "scp array", payload: `{"scp":["read"]}`, want: "read"},
		{name: "scope and scp merged", payload: `{"scope":"read","scp":["write","read"]}`, want: "read write"},
		{name: "absent", payload: `{}`, want: ""},
		{name: "number rejected", payload: `{"scope":42}`, wantErr: true},
		{name: "upper-case claim name rejected", payload: `{"SCOPE":"admin"}`, wantErr: true},
		{name: "case-variant duplicate rejected", payload: `{"scope":"read","Scope":"admin"}`, wantErr: true},
		{name: "exact duplicate rejected", payload: `{"scope":"read","scope":"admin"}`, wantErr: true},
		{name: "unknown claims in any case kept out", payload: `{"scope":"read","X-Custom":1,"x-other":2}`, want: "read"},
		{name: "not an object rejected", payload: `["scope"]`, wantErr: true},
		{name: "array of numbers rejected", payload: `{"scp":[1,2]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var token AccessToken
			err := json.Unmarshal([]byte(tt.payload), &token)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoding %s succeeded, want an error", tt.payload)
				}
				return
			}
			if err != nil {
				t.Fatalf("decoding %s failed: %v", tt.payload, err)
			}
			scopes, err := token.Scopes()
			if err != nil {
				t.Fatalf("Scopes() failed: %v", err)
			}
			if scopes.String() != tt.want {
				t.Errorf("Scopes() = %q, want %q", scopes, tt.want)
			}
		})
	}
}

func TestScopeClaimEncodesAsString(t *testing.T) {
	token := AccessToken{ClientID: "svc", Scope: ScopeClaim{"read", "write"}}
	data, err := json.Marshal(token)
	if err != nil {
		t.Fatal(err)
	}

	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded["scope"] != "read write" {
		t.Errorf("scope encoded as %#v, want \"read write\"", decoded["scope"])
	}
	if _, present := decoded["scp"]; present {
		t.Errorf("scp written although empty: %s", data)
	}
}
