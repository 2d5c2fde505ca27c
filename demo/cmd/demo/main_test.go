package main

import "testing"

func TestAddr(t *testing.T) {
	tests := map[string]string{"127.0.0.1": "127.0.0.1:8080", "::1": "[::1]:8080", "localhost": "localhost:8080"}
	for host, want := range tests {
		if got := addr(host, 8080); got != want {
			t.Errorf("addr(%q, 8080) = %q, want %q", host, got, want)
		}
	}
}
