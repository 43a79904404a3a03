// Package lambda runs a Go Lambda handler inside a wasm-lambda component.
//
// A handler is written as for AWS Lambda's Go runtime and started from main:
//
//	package main
//
//	import (
//		"context"
//
//		"wasm-lambda.local/lambda"
//	)
//
//	type Request struct {
//		Name string `json:"name"`
//	}
//
//	type Response struct {
//		Greeting string `json:"greeting"`
//	}
//
//	func handler(ctx context.Context, request Request) (Response, error) {
//		lc, _ := lambda.FromContext(ctx)
//		return Response{Greeting: "Hello " + request.Name + " from " + lc.AwsRequestID}, nil
//	}
//
//	func main() {
//		lambda.Start(handler)
//	}
//
// The handler may take a context.Context and/or one event value (decoded
// from the event JSON with encoding/json), and may return a value (encoded
// with encoding/json) and/or an error. A value with an
// Invoke(context.Context, []byte) ([]byte, error) method is called with the
// event's bytes and answers with the response's. A returned error fails the
// invocation; its errorType is the error's Go type name, as in Lambda.
// `wasm-lambda build` compiles the project with this package for
// GOOS=wasip1 GOARCH=wasm; main runs once per instance, before the first
// invocation.
package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"time"
)

// CognitoIdentity is the caller's Amazon Cognito identity.
type CognitoIdentity struct {
	CognitoIdentityID     string
	CognitoIdentityPoolID string
}

// Context is what Lambda tells a handler about the invocation and the
// function.
type Context struct {
	AwsRequestID       string
	FunctionName       string
	FunctionVersion    string
	InvokedFunctionArn string
	MemoryLimitInMB    int
	LogGroupName       string
	LogStreamName      string
	// Deadline is when the invocation times out.
	Deadline time.Time
	// XRayTraceID is the X-Ray trace header, empty when absent (the Rust
	// runtime's name).
	XRayTraceID string
	// TraceID is the same header under its older name.
	TraceID string
	// Identity is the caller's Cognito identity, nil when absent.
	Identity *CognitoIdentity
	// ClientContext is a mobile caller's client context as JSON text, empty
	// when absent.
	ClientContext string
	// TenantID is the tenant of a multi-tenant function, empty when absent.
	TenantID string
}

// RemainingTimeInMillis returns the milliseconds left before the invocation
// times out, measured now.
func (*Context) RemainingTimeInMillis() int64 {
	return int64(remainingTimeMs())
}

type contextKey struct{}

// NewContext returns a copy of parent carrying lc.
func NewContext(parent context.Context, lc *Context) context.Context {
	return context.WithValue(parent, contextKey{}, lc)
}

// FromContext returns the Lambda context the handler's context.Context
// carries.
func FromContext(ctx context.Context) (*Context, bool) {
	lc, ok := ctx.Value(contextKey{}).(*Context)
	return lc, ok
}

// Error is an error with an explicit Lambda errorType.
type Error struct {
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Fail returns an error that fails the invocation with Lambda's error JSON
// of type errorType and a fmt.Sprintf message, as the C SDK's
// wasm_lambda_fail and the Zig SDK's context.fail do.
func Fail(errorType string, format string, args ...any) error {
	return &Error{Type: errorType, Message: fmt.Sprintf(format, args...)}
}

var (
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
)

// handlerFunc is a validated handler, called with the event JSON.
type handlerFunc func(ctx context.Context, event []byte) ([]byte, error)

var registered handlerFunc

// Start registers handler as the function's handler. It panics if handler
// does not have one of the accepted shapes, naming what is wrong.
func Start(handler interface{}) {
	h, err := wrap(handler)
	if err != nil {
		panic(err)
	}
	registered = h
}

// rawHandler is a handler that takes the event's bytes and returns the
// response's, as aws-lambda-go's lambda.Handler does; the aws-lambda-go
// packages the build provides start their handlers through it.
type rawHandler interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

func wrap(handler interface{}) (handlerFunc, error) {
	if handler == nil {
		return nil, errors.New("lambda.Start: the handler is nil")
	}
	if raw, ok := handler.(rawHandler); ok {
		return raw.Invoke, nil
	}
	fn := reflect.ValueOf(handler)
	t := fn.Type()
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("lambda.Start: the handler is a %s, not a function", t.Kind())
	}
	takesContext := t.NumIn() > 0 && t.In(0).Implements(contextType)
	eventArgs := t.NumIn()
	if takesContext {
		eventArgs--
	}
	if eventArgs > 1 {
		return nil, fmt.Errorf("lambda.Start: the handler takes %d arguments; it may take a context.Context and one event", t.NumIn())
	}
	if t.NumIn() == 2 && !takesContext {
		return nil, errors.New("lambda.Start: a handler's first of two arguments must be a context.Context")
	}
	returnsError := t.NumOut() > 0 && t.Out(t.NumOut()-1).Implements(errorType)
	switch {
	case t.NumOut() > 2:
		return nil, fmt.Errorf("lambda.Start: the handler returns %d values; it may return a value and an error", t.NumOut())
	case t.NumOut() == 2 && !returnsError:
		return nil, errors.New("lambda.Start: a handler's second result must be an error")
	}
	returnsValue := t.NumOut() == 2 || (t.NumOut() == 1 && !returnsError)

	return func(ctx context.Context, event []byte) ([]byte, error) {
		var args []reflect.Value
		if takesContext {
			args = append(args, reflect.ValueOf(ctx))
		}
		if eventArgs == 1 {
			value := reflect.New(t.In(t.NumIn() - 1))
			if err := json.Unmarshal(event, value.Interface()); err != nil {
				return nil, &Error{Type: "Runtime.UnmarshalError", Message: err.Error()}
			}
			args = append(args, value.Elem())
		}
		out := fn.Call(args)
		if returnsError {
			if err, _ := out[len(out)-1].Interface().(error); err != nil {
				return nil, err
			}
		}
		if !returnsValue {
			return []byte("null"), nil
		}
		payload, err := json.Marshal(out[0].Interface())
		if err != nil {
			return nil, &Error{Type: "Runtime.MarshalError", Message: err.Error()}
		}
		return payload, nil
	}, nil
}

// errorTypeName is the errorType Lambda's Go runtime reports for err: its
// type's name, without the pointer.
func errorTypeName(err error) string {
	var typed *Error
	if errors.As(err, &typed) {
		return typed.Type
	}
	return typeName(reflect.TypeOf(err))
}

// typeName is a type's name without its package or pointer, as Lambda's Go
// runtime names errors and panic values.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	return t.Name()
}

// invoke runs the registered handler, turning a panic into an error with the
// panic's stack.
func invoke(ctx context.Context, event []byte) (payload []byte, failure *failureInfo) {
	defer func() {
		if value := recover(); value != nil {
			failure = &failureInfo{
				Type:    typeName(reflect.TypeOf(value)),
				Message: fmt.Sprint(value),
				Stack:   stackLines(),
			}
		}
	}()
	if registered == nil {
		return nil, &failureInfo{
			Type:    "Runtime.NoHandler",
			Message: "main did not call lambda.Start",
		}
	}
	payload, err := registered(ctx, event)
	if err != nil {
		return nil, &failureInfo{Type: errorTypeName(err), Message: err.Error()}
	}
	return payload, nil
}

type failureInfo struct {
	Type    string
	Message string
	Stack   []string
}

func stackLines() []string {
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(debug.Stack())), "\n") {
		lines = append(lines, strings.TrimSpace(line))
	}
	return lines
}
