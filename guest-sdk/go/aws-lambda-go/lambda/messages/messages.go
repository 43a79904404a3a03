// Package messages holds the invocation types of aws-lambda-go that handlers
// use: chiefly InvokeResponse_Error, which a handler returns to fail with an
// errorType of its choosing.
package messages

import "fmt"

// InvokeResponse_Error is Lambda's error JSON. Returned by a handler as its
// error, it is the invocation's error as it is: Type is the errorType.
type InvokeResponse_Error struct { //nolint:revive
	Message    string                             `json:"errorMessage"`
	Type       string                             `json:"errorType"`
	StackTrace []*InvokeResponse_Error_StackFrame `json:"stackTrace,omitempty"`
	// ShouldExit asks for a new sandbox after the invocation; each
	// wasm-lambda invocation gets a fresh one anyway.
	ShouldExit bool `json:"-"`
}

func (e InvokeResponse_Error) Error() string {
	return fmt.Sprintf("%#v", e)
}

// InvokeResponse_Error_StackFrame is one frame of a panic's stack.
type InvokeResponse_Error_StackFrame struct { //nolint:revive
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

// InvokeRequest_Timestamp is a point in time in seconds and nanoseconds.
type InvokeRequest_Timestamp struct { //nolint:revive
	Seconds int64
	Nanos   int64
}

// InvokeRequest is one invocation as Lambda's Go runtime received it.
type InvokeRequest struct {
	Payload               []byte
	RequestId             string //nolint:revive
	XAmznTraceId          string //nolint:revive
	Deadline              InvokeRequest_Timestamp
	InvokedFunctionArn    string
	CognitoIdentityId     string //nolint:revive
	CognitoIdentityPoolId string //nolint:revive
	ClientContext         []byte
}

// InvokeResponse is a handler's answer: its payload or its error.
type InvokeResponse struct {
	Payload []byte
	Error   *InvokeResponse_Error
}
