// The invocation's context as aws-lambda-go gives it: lambdacontext's
// request id, ARN and function settings, the deadline, the trace header
// under its string key, a client context, and lambdacontext's slog logger
// writing Lambda's JSON records with the request id.
package main

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

var logger = lambdacontext.NewLogger(lambdacontext.WithFunctionARN())

type Answer struct {
	RequestIDLength int    `json:"requestIdLength"`
	ArnSuffix       string `json:"arnSuffix"`
	FunctionName    string `json:"functionName"`
	Version         string `json:"version"`
	Memory          int    `json:"memory"`
	LogGroup        string `json:"logGroup"`
	HasDeadline     bool   `json:"hasDeadline"`
	DeadlineAhead   bool   `json:"deadlineAhead"`
	TraceIsRoot     bool   `json:"traceIsRoot"`
	Concurrency     int    `json:"concurrency"`
}

func handler(ctx context.Context) (Answer, error) {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		log.Fatal("no lambda context")
	}
	deadline, hasDeadline := ctx.Deadline()
	trace, _ := ctx.Value("x-amzn-trace-id").(string)
	logger.InfoContext(ctx, "order received", slog.String("orderId", "o-17"))
	logger.DebugContext(ctx, "debug is below the level")
	arn := lc.InvokedFunctionArn
	return Answer{
		RequestIDLength: len(lc.AwsRequestID),
		ArnSuffix:       arn[len(arn)-len(lambdacontext.FunctionName)-9:],
		FunctionName:    lambdacontext.FunctionName,
		Version:         lambdacontext.FunctionVersion,
		Memory:          lambdacontext.MemoryLimitInMB,
		LogGroup:        lambdacontext.LogGroupName,
		HasDeadline:     hasDeadline,
		DeadlineAhead:   time.Until(deadline) > 30*time.Second,
		TraceIsRoot:     len(trace) > 5 && trace[:5] == "Root=",
		Concurrency:     lambdacontext.MaxConcurrency(),
	}, nil
}

func main() {
	lambda.Start(handler)
}
