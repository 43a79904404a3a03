module example.com/s3-object-created

go 1.21

require github.com/aws/aws-lambda-go v1.47.0
