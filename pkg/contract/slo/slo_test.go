package slo_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/slo"
)

// TestFailedCodesAgree: the PromQL expression the rules filter with and the
// Go function the burster and the page classify with say the same of every
// code a metric can carry.
func TestFailedCodesAgree(t *testing.T) {
	re := regexp.MustCompile(`^(?:` + slo.FailedCodes + `)$`) // PromQL anchors its matchers
	for code := range 1000 {
		s := strconv.Itoa(code)
		if re.MatchString(s) != slo.Failed(s) || slo.Failed(s) != slo.FailedStatus(code) {
			t.Fatalf("code %s: the expression says %v, Failed %v, FailedStatus %v", s, re.MatchString(s), slo.Failed(s), slo.FailedStatus(code))
		}
	}
	for _, s := range []string{"", "5xx", "0500", "-1", "200 "} {
		if slo.Failed(s) || re.MatchString(s) {
			t.Fatalf("%q counted as a failure", s)
		}
	}
}

func TestSLIAndBurn(t *testing.T) {
	tests := []struct {
		good, requests, target, sli, burn float64
	}{
		{99, 100, 0.99, 0.99, 1},
		{90, 100, 0.99, 0.9, 10},
		{100, 100, 0.99, 1, 0},
		{120, 100, 0.99, 1, 0}, // counts from different scrapes: clamped
		{0, 100, 0.9, 0, 10},
	}
	for _, tt := range tests {
		sli := slo.SLI(tt.good, tt.requests)
		if d := sli - tt.sli; d > 1e-12 || d < -1e-12 {
			t.Fatalf("SLI(%v, %v) = %v, want %v", tt.good, tt.requests, sli, tt.sli)
		}
		if b := slo.Burn(sli, tt.target); b-tt.burn > 1e-9 || tt.burn-b > 1e-9 {
			t.Fatalf("Burn(%v, %v) = %v, want %v", sli, tt.target, b, tt.burn)
		}
	}
}
