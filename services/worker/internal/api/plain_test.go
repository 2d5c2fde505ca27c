package api

import (
	"encoding/json"
	"testing"
)

func TestPlainRequest(t *testing.T) {
	tests := []struct {
		body string
		want string // "" with ok false: left to encoding/json
		ok   bool
	}{
		{`{"str":"hello"}`, "hello", true},
		{`{"str":""}`, "", true},
		{`{"str":"0a1b2c3d4e5f6"}`, "0a1b2c3d4e5f6", true},
		{`{"str":"é ü 日本 <tag> & '"}`, "é ü 日本 <tag> & '", true},
		{`{"str":"escaped \" quote"}`, "", false},
		{`{"str":"back\\slash"}`, "", false},
		{`{"str":"\u00e9"}`, "", false},
		{"{\"str\":\"tab\there\"}", "", false},
		{"{\"str\":\"bad \xff utf-8\"}", "", false},
		{`{"str": "spaced"}`, "", false},
		{`{"Str":"other case"}`, "", false},
		{`{"str":"a","str":"b"}`, "", false},
		{`{"str":"a"} `, "", false},
		{`{"str":"a"}{"str":"b"}`, "", false},
		{`{"str":"}`, "", false},
		{`{"str":"`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		got, ok := plainRequest([]byte(tt.body))
		if got != tt.want || ok != tt.ok {
			t.Errorf("plainRequest(%q) = %q, %v; want %q, %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzPlainRequestAgreesWithJSON: whatever plainRequest accepts,
// encoding/json decodes to the same string, so taking the short way never
// changes an answer.
func FuzzPlainRequestAgreesWithJSON(f *testing.F) {
	for _, seed := range []string{`{"str":"hello"}`, `{"str":""}`, `{"str":"é\u00e9"}`, "{\"str\":\"\x7f\"}",
		`{"str":"a"}{"str":"b"}`, `{"str":"\"}`, "{\"str\":\"\xed\xa0\x80\"}", `{"str":"}"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := plainRequest(body)
		if !ok {
			return
		}
		var req Request
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("plainRequest took %q, which encoding/json refuses: %v", body, err)
		}
		if req.Str == nil || *req.Str != got {
			t.Fatalf("plainRequest(%q) = %q, encoding/json decodes %v", body, got, req.Str)
		}
	})
}
