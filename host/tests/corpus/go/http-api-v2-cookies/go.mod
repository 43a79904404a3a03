module example.com/http-api-v2-cookies

go 1.21

require github.com/aws/aws-lambda-go v1.47.0
