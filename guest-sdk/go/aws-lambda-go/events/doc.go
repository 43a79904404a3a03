// Package events holds the Go shapes of the JSON documents that AWS services
// hand to a Lambda function (API Gateway, function URLs, ALB, SQS, SNS, S3,
// DynamoDB and Kinesis streams, EventBridge, CloudWatch Logs, Cognito user
// pool triggers) and of the responses some of them expect back.
//
// This is wasm-lambda's own implementation of the package of the same import
// path in github.com/aws/aws-lambda-go. Type names, field names and JSON tags
// follow that module so handlers written for it build unchanged, for
// GOOS=wasip1 as well as natively. Only the standard library is used.
package events
