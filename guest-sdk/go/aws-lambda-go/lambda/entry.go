// Package lambda is aws-lambda-go's lambda package for wasm-lambda: a handler
// written for Lambda's Go runtime, started with lambda.Start from main, runs
// unchanged in a wasm-lambda component.
//
//	import (
//		"context"
//
//		"github.com/aws/aws-lambda-go/events"
//		"github.com/aws/aws-lambda-go/lambda"
//	)
//
//	func handler(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
//		...
//	}
//
//	func main() {
//		lambda.Start(handler)
//	}
//
// `wasm-lambda build` provides this module (lambda, lambda/messages,
// lambdacontext, events) to Go projects that require
// github.com/aws/aws-lambda-go, in place of the published one, which talks
// to Lambda's Runtime API over HTTP; here the host calls the handler through
// the component's export instead.
//
// Handlers have the shapes Lambda's Go runtime accepts: an optional
// context.Context, then an optional event (decoded from the event's JSON
// with encoding/json); no result, an error, or a value and an error. A
// handler of another shape fails each invocation with the reason, as there.
// Start registers the handler and returns (main ends, and the host calls
// the handler for each invocation), where Lambda's Start never returns.
package lambda

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	sdk "wasm-lambda.local/lambda"
)

// Start runs handler for every invocation of the function.
func Start(handler interface{}) {
	StartWithOptions(handler)
}

// StartWithContext is Start with ctx as the parent of every invocation's
// context.
func StartWithContext(ctx context.Context, handler interface{}) {
	StartWithOptions(handler, WithContext(ctx))
}

// StartHandler runs a Handler for every invocation.
func StartHandler(handler Handler) {
	StartWithOptions(handler)
}

// StartHandlerWithContext is StartHandler with ctx as the parent of every
// invocation's context.
func StartHandlerWithContext(ctx context.Context, handler Handler) {
	StartWithOptions(handler, WithContext(ctx))
}

// StartWithOptions is Start with options.
func StartWithOptions(handler interface{}, options ...Option) {
	sdk.Start(&invoker{handler: newHandler(handler, options...)})
}

// HandlerFunc is the type of a handler function taking a context and an
// event of type TIn, and returning a TOut.
type HandlerFunc[TIn, TOut any] interface {
	func(context.Context, TIn) (TOut, error)
}

// StartHandlerFunc is Start for a handler whose types are checked when it
// compiles.
func StartHandlerFunc[TIn any, TOut any, H HandlerFunc[TIn, TOut]](handler H, options ...Option) {
	StartWithOptions(handler, options...)
}

// invoker is what the SDK calls: it gives the handler the context Lambda's
// Go runtime would, and reports its errors under Lambda's errorType.
type invoker struct {
	handler *handler
}

func (i *invoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	invocation := i.handler.settings.base
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		invocation, cancel = context.WithDeadline(invocation, deadline)
		defer cancel()
	}
	lc := &lambdacontext.LambdaContext{}
	var trace string
	if given, ok := sdk.FromContext(ctx); ok {
		lc.AwsRequestID = given.AwsRequestID
		lc.InvokedFunctionArn = given.InvokedFunctionArn
		lc.TenantID = given.TenantID
		if given.Identity != nil {
			lc.Identity = lambdacontext.CognitoIdentity{
				CognitoIdentityID:     given.Identity.CognitoIdentityID,
				CognitoIdentityPoolID: given.Identity.CognitoIdentityPoolID,
			}
		}
		if given.ClientContext != "" {
			if err := json.Unmarshal([]byte(given.ClientContext), &lc.ClientContext); err != nil {
				return nil, fmt.Errorf("failed to unmarshal client context json: %v", err)
			}
		}
		trace = given.XRayTraceID
	}
	invocation = lambdacontext.NewContext(invocation, lc)
	// Lambda's Go runtime puts the trace header under this string key.
	invocation = context.WithValue(invocation, "x-amzn-trace-id", trace) //nolint:staticcheck
	response, err := i.handler.Invoke(invocation, payload)
	if err != nil {
		return nil, lambdaError(err)
	}
	return response, nil
}

// lambdaError keeps a returned messages.InvokeResponse_Error's own errorType;
// any other error is named by its type, as the SDK does.
func lambdaError(err error) error {
	switch typed := err.(type) {
	case messages.InvokeResponse_Error:
		return sdk.Fail(typed.Type, "%s", typed.Message)
	case *messages.InvokeResponse_Error:
		return sdk.Fail(typed.Type, "%s", typed.Message)
	}
	return err
}
