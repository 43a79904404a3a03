module example.com/errors-and-panics

go 1.22

require github.com/aws/aws-lambda-go v1.47.0
