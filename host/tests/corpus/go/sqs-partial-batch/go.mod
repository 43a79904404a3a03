module example.com/sqs-partial-batch

go 1.21

require github.com/aws/aws-lambda-go v1.47.0
