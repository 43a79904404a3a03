module example.com/cloudwatch-logs-errors

go 1.21

require github.com/aws/aws-lambda-go v1.47.0
