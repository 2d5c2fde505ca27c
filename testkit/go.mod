module github.com/cloudburst-demo/cloudburst/testkit

go 1.26.0

require github.com/cloudburst-demo/cloudburst/pkg v0.0.0-00010101000000-000000000000

replace github.com/cloudburst-demo/cloudburst/pkg => ../pkg
