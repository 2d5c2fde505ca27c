module github.com/cloudburst-demo/cloudburst/testkit

go 1.26.0
