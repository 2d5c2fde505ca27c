package e2e

import "testing"

// wrk 4.1's --latency output, as the ceiling benchmark reads it.
const wrkOutput = `Running 8s test @ http://127.0.0.1:40123/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   742.81us  512.33us  12.90ms   90.11%
    Req/Sec    21.76k     1.02k   23.41k    71.25%
  Latency Distribution
     50%  621.00us
     75%  812.00us
     90%    1.14ms
     99%    3.09ms
  173262 requests in 8.00s, 27.43MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  21652.48
Transfer/sec:      3.43MB
`

func TestParseWrk(t *testing.T) {
	var r run
	if err := parseWrk(wrkOutput, &r); err != nil {
		t.Fatal(err)
	}
	want := run{rps: 21652.48, p50ms: 0.621, p99ms: 3.09, ok: 173250, non2xx: 12}
	if r != want {
		t.Fatalf("parsed %+v, want %+v", r, want)
	}
	if err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused", &r); err == nil {
		t.Fatal("output without a rate was accepted")
	}
}
