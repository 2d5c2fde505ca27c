package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakePrometheus answers /api/v1/query with a fixed body and status.
func fakePrometheus(t *testing.T, status int, body string, delay time.Duration) *Prometheus {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			http.NotFound(w, r)
			return
		}
		time.Sleep(delay) // a slow Prometheus: the delay is the fault under test
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	p, err := NewPrometheus(ts.URL, "sum(rate(x[5s]))", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrometheusRate(t *testing.T) {
	vector := func(v string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"` + v + `"]}]}}`
	}
	tests := []struct {
		name    string
		status  int
		body    string
		delay   time.Duration
		want    float64
		noData  bool
		wantErr string
	}{
		{name: "value", status: 200, body: vector("23.5"), want: 23.5},
		{name: "zero is a value", status: 200, body: vector("0"), want: 0},
		{name: "scalar", status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}`, want: 7},
		{name: "no series", status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, noData: true},
		{name: "NaN", status: 200, body: vector("NaN"), noData: true},
		{name: "two series", status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`, wantErr: "2 series"},
		{name: "bad query", status: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`, wantErr: "parse error"},
		{name: "server error", status: 503, body: `unavailable`, wantErr: "querying prometheus"},
		{name: "timeout", status: 200, body: vector("1"), delay: time.Second, wantErr: "querying prometheus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fakePrometheus(t, tt.status, tt.body, tt.delay).Rate(context.Background())
			switch {
			case tt.noData:
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("err = %v, want ErrNoData", err)
				}
			case tt.wantErr != "":
				if err == nil || errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a failure mentioning %q", err, tt.wantErr)
				}
			default:
				if err != nil || got != tt.want {
					t.Fatalf("Rate() = %v, %v; want %v", got, err, tt.want)
				}
			}
		})
	}
}

func TestPrometheusUnreachableIsAnError(t *testing.T) {
	p, err := NewPrometheus("http://127.0.0.1:1", "up", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Rate(context.Background()); err == nil || errors.Is(err, ErrNoData) {
		t.Fatalf("err = %v, want a failure that is not ErrNoData", err)
	}
}

func TestPrometheusDestinations(t *testing.T) {
	series := func(dest, code, v string) string {
		return `{"metric":{"destination":"` + dest + `","code":"` + code + `"},"value":[1700000000,"` + v + `"]}`
	}
	vector := func(s ...string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(s, ",") + `]}}`
	}
	tests := []struct {
		name    string
		body    string
		want    Destinations
		noData  bool
		wantErr string
	}{
		{name: "both", body: vector(series("primary", "200", "5"), series("burst", "200", "10"), series("burst", "503", "20"),
			series("burst", "404", "1"), series("elsewhere", "500", "99")),
			want: Destinations{Primary: Traffic{RPS: 5}, Burst: Traffic{RPS: 31, FailedRPS: 20}}},
		{name: "NaN skipped", body: vector(series("primary", "200", "NaN"), series("primary", "200", "2")),
			want: Destinations{Primary: Traffic{RPS: 2}}},
		{name: "no series", body: vector(), noData: true},
		{name: "scalar", body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}`, wantErr: "want a vector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakePrometheus(t, 200, tt.body, 0)
			d := &PrometheusDestinations{prom: p}
			got, err := d.Destinations(context.Background())
			switch {
			case tt.noData:
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("err = %v, want ErrNoData", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil || got != tt.want:
				t.Fatalf("Destinations() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := NewPrometheusDestinations("http://127.0.0.1:9", " ", time.Second); err == nil {
		t.Fatal("an empty destinations query was accepted")
	}
}
