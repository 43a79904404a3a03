module example.com/sns-fanout

go 1.21

require github.com/aws/aws-lambda-go v1.47.0
