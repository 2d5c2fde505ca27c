package strictjson

import (
	"strings"
	"testing"
)

type weights struct {
	Primary int `json:"primary"`
	Burst   int `json:"burst"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"exact", `{"primary":30,"burst":70}`, ""},
		{"whitespace around", " \n{\"primary\":30, \"burst\":70}\n ", ""},
		{"key in another case", `{"Primary":30,"burst":70}`, `unknown key "Primary"`},
		{"unknown key", `{"primary":30,"burst":70,"canary":0}`, `unknown key "canary"`},
		{"missing key", `{"primary":100}`, `"burst" is required`},
		{"trailing object", `{"primary":30,"burst":70}{"primary":0,"burst":100}`, "want one JSON object"},
		{"trailing garbage", `{"primary":30,"burst":70} x`, "want one JSON object"},
		{"not an object", `[30,70]`, "want one JSON object"},
		{"null", `null`, "want one JSON object"},
		{"wrong type", `{"primary":"30","burst":70}`, `"primary" must be a JSON whole number`},
		{"fraction", `{"primary":30.5,"burst":69.5}`, `"primary" must be a JSON whole number`},
		{"empty", ``, "want one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w weights
			err := Decode([]byte(tt.body), &w, "primary", "burst")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Decode = %v", err)
			case tt.wantErr == "" && w != (weights{30, 70}):
				t.Fatalf("decoded %+v", w)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Decode = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
