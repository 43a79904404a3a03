// Package lambdacontext is aws-lambda-go's lambdacontext for wasm-lambda:
// the invocation's details carried by the handler's context.Context, and
// the function's settings read from the environment, under the names
// handlers written for Lambda's Go runtime use.
//
//	func handler(ctx context.Context) (string, error) {
//		lc, _ := lambdacontext.FromContext(ctx)
//		return lambdacontext.FunctionName + " " + lc.AwsRequestID, nil
//	}
//
// `wasm-lambda build` provides this package to Go projects that require
// github.com/aws/aws-lambda-go, in place of the published module.
package lambdacontext

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
)

// The function's settings, read from Lambda's environment variables when the
// sandbox starts.
var (
	// LogGroupName is AWS_LAMBDA_LOG_GROUP_NAME.
	LogGroupName string
	// LogStreamName is AWS_LAMBDA_LOG_STREAM_NAME.
	LogStreamName string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME.
	FunctionName string
	// MemoryLimitInMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 0 when unset.
	MemoryLimitInMB int
	// FunctionVersion is AWS_LAMBDA_FUNCTION_VERSION.
	FunctionVersion string
)

// concurrency is AWS_LAMBDA_MAX_CONCURRENCY, at least 1.
var concurrency = 1

func init() {
	LogGroupName = os.Getenv("AWS_LAMBDA_LOG_GROUP_NAME")
	LogStreamName = os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME")
	FunctionName = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	FunctionVersion = os.Getenv("AWS_LAMBDA_FUNCTION_VERSION")
	MemoryLimitInMB, _ = strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if n, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY")); err == nil && n > 1 {
		concurrency = n
	}
}

// MaxConcurrency is how many invocations one sandbox may run at once: 1 here,
// as each wasm-lambda sandbox runs one invocation, unless
// AWS_LAMBDA_MAX_CONCURRENCY says more.
func MaxConcurrency() int {
	return concurrency
}

// ClientApplication is the mobile application that invoked the function.
type ClientApplication struct {
	InstallationID string `json:"installation_id"`
	AppTitle       string `json:"app_title"`
	AppVersionCode string `json:"app_version_code"`
	AppPackageName string `json:"app_package_name"`
}

// ClientContext is what a mobile SDK caller sends about itself.
type ClientContext struct {
	Client ClientApplication
	Env    map[string]string `json:"env"`
	Custom map[string]string `json:"custom"`
}

// UnmarshalJSON reads a client context; a custom value that is not a string
// is kept as its JSON text.
func (cc *ClientContext) UnmarshalJSON(data []byte) error {
	var decoded struct {
		Client ClientApplication          `json:"Client"`
		Env    map[string]string          `json:"env"`
		Custom map[string]json.RawMessage `json:"custom"`
	}
	if err := json.Unmarshal(data, &decoded); err != nil {
		return err
	}
	cc.Client, cc.Env, cc.Custom = decoded.Client, decoded.Env, nil
	if decoded.Custom == nil {
		return nil
	}
	cc.Custom = make(map[string]string, len(decoded.Custom))
	for name, raw := range decoded.Custom {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			text = string(raw)
		}
		cc.Custom[name] = text
	}
	return nil
}

// CognitoIdentity is the Amazon Cognito identity of the caller.
type CognitoIdentity struct {
	CognitoIdentityID     string
	CognitoIdentityPoolID string
}

// LambdaContext is what Lambda tells the handler about one invocation.
type LambdaContext struct {
	AwsRequestID       string //nolint: staticcheck
	InvokedFunctionArn string //nolint: staticcheck
	Identity           CognitoIdentity
	ClientContext      ClientContext
	// TenantID is the tenant of a tenant-isolated function, empty otherwise.
	TenantID string `json:",omitempty"`
}

type contextKey struct{}

// NewContext returns a copy of parent that carries lc.
func NewContext(parent context.Context, lc *LambdaContext) context.Context {
	return context.WithValue(parent, contextKey{}, lc)
}

// FromContext returns the LambdaContext ctx carries, if any.
func FromContext(ctx context.Context) (*LambdaContext, bool) {
	lc, ok := ctx.Value(contextKey{}).(*LambdaContext)
	return lc, ok
}
