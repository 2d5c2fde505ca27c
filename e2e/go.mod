module github.com/cloudburst-demo/cloudburst/e2e

go 1.26.0

replace (
	github.com/cloudburst-demo/cloudburst/pkg => ../pkg
	github.com/cloudburst-demo/cloudburst/testkit => ../testkit
)

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/cloudburst-demo/cloudburst/pkg v0.0.0-00010101000000-000000000000
	github.com/cloudburst-demo/cloudburst/testkit v0.0.0-00010101000000-000000000000
	github.com/creack/pty v1.1.24
	github.com/prometheus/common v0.72.0
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/sys v0.48.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
