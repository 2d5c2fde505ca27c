module github.com/cloudburst-demo/cloudburst/services/burster

go 1.26.0

replace (
	github.com/cloudburst-demo/cloudburst/pkg => ../../pkg
	github.com/cloudburst-demo/cloudburst/testkit => ../../testkit
	github.com/cloudburst-demo/cloudburst/testkit/kube => ../../testkit/kube
)

require (
	github.com/cloudburst-demo/cloudburst/testkit v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3
	github.com/prometheus/common v0.72.0
)

require (
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
