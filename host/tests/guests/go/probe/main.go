// Reports what a Go handler sees: every context field (the trace header
// under both of its names), the remaining time and the environment variable
// the event names ({"env": "NAME"}); {"fail": "message"} fails with the SDK's
// Fail function instead.
package main

import (
	"context"
	"errors"
	"os"

	"wasm-lambda.local/lambda"
)

type Request struct {
	Env  string  `json:"env"`
	Fail *string `json:"fail"`
}

func optional(value string) *string {
	if value == "" {
		return nil
	}
	return &value
}

func probe(ctx context.Context, request Request) (map[string]any, error) {
	lc, ok := lambda.FromContext(ctx)
	if !ok {
		return nil, errors.New("no Lambda context")
	}
	if request.Fail != nil {
		return nil, lambda.Fail("ProbeFailure", "%s", *request.Fail)
	}
	deadline, _ := ctx.Deadline()
	seen := map[string]any{
		"aws_request_id":       lc.AwsRequestID,
		"function_name":        lc.FunctionName,
		"function_version":     lc.FunctionVersion,
		"invoked_function_arn": lc.InvokedFunctionArn,
		"memory_limit_in_mb":   lc.MemoryLimitInMB,
		"log_group_name":       lc.LogGroupName,
		"log_stream_name":      lc.LogStreamName,
		"deadline_ms":          deadline.UnixMilli(),
		"trace_id":             optional(lc.XRayTraceID),
		"trace_id_older_name":  optional(lc.TraceID),
		"client_context":       optional(lc.ClientContext),
		"tenant_id":            optional(lc.TenantID),
		"remaining_ms":         lc.RemainingTimeInMillis(),
		"cognito_identity_id":  nil,
		"env":                  nil,
	}
	if lc.Identity != nil {
		seen["cognito_identity_id"] = lc.Identity.CognitoIdentityID
		seen["cognito_identity_pool_id"] = lc.Identity.CognitoIdentityPoolID
	}
	if value, found := os.LookupEnv(request.Env); found {
		seen["env"] = value
	}
	return seen, nil
}

func main() {
	lambda.Start(probe)
}
