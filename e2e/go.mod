module github.com/cloudburst-demo/cloudburst/e2e

go 1.26.0

replace (
	github.com/cloudburst-demo/cloudburst/api => ../api
	github.com/cloudburst-demo/cloudburst/pkg => ../pkg
	github.com/cloudburst-demo/cloudburst/testkit => ../testkit
	github.com/cloudburst-demo/cloudburst/testkit/kube => ../testkit/kube
)

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/cloudburst-demo/cloudburst/api v0.0.0-00010101000000-000000000000
	github.com/cloudburst-demo/cloudburst/pkg v0.0.0-00010101000000-000000000000
	github.com/cloudburst-demo/cloudburst/testkit v0.0.0-00010101000000-000000000000
	github.com/creack/pty v1.1.24
	github.com/prometheus/common v0.72.0
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/sys v0.48.0
	k8s.io/apimachinery v0.37.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/fxamacker/cbor/v2 v2.9.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.3-0.20250322232337-35a7c28c31ee // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v2 v2.4.4 // indirect
	golang.org/x/net v0.59.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
	k8s.io/kube-openapi v0.0.0-20260721132016-d427ff9ee9ad // indirect
	k8s.io/utils v0.0.0-20260626114624-be93311217bd // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
	sigs.k8s.io/randfill v1.0.0 // indirect
	sigs.k8s.io/structured-merge-diff/v6 v6.4.2 // indirect
	sigs.k8s.io/yaml v1.6.0 // indirect
)
