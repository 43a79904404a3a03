// One function that answers with each handler shape aws-lambda-go accepts,
// picked by the event's "shape": the router is a lambda.Handler started
// with lambda.StartHandler, and each shape is made by lambda.NewHandler,
// as middleware libraries wrap handlers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type Order struct {
	Shape string   `json:"shape"`
	Items []string `json:"items"`
}

type Receipt struct {
	Count   int    `json:"count"`
	Joined  string `json:"joined"`
	Request string `json:"request,omitempty"`
}

func requestID(ctx context.Context) string {
	lc, _ := lambdacontext.FromContext(ctx)
	return lc.AwsRequestID
}

var shapes = map[string]interface{}{
	"nothing":      func() {},
	"error-only":   func() error { return nil },
	"event-error":  func(o Order) error { return nil },
	"result-error": func() (Receipt, error) { return Receipt{Count: -1}, nil },
	"event-result-error": func(o Order) (Receipt, error) {
		return Receipt{Count: len(o.Items), Joined: strings.Join(o.Items, "+")}, nil
	},
	"ctx-error":        func(ctx context.Context) error { return nil },
	"ctx-event-error":  func(ctx context.Context, o Order) error { return errors.New("refused " + o.Shape) },
	"ctx-result-error": func(ctx context.Context) (string, error) { return requestID(ctx), nil },
	"ctx-event-result": func(ctx context.Context, o Order) (Receipt, error) {
		return Receipt{Count: len(o.Items), Request: requestID(ctx)}, nil
	},
	"map-event":           func(event map[string]interface{}) (int, error) { return len(event), nil },
	"raw-event":           func(event json.RawMessage) (json.RawMessage, error) { return event, nil },
	"pointer-result":      func(o *Order) (*Receipt, error) { return &Receipt{Joined: strings.ToUpper(o.Shape)}, nil },
	"bad-two-results":     func() (string, string) { return "", "" },
	"bad-first-argument":  func(n int, o Order) error { return nil },
	"bad-three-arguments": func(ctx context.Context, a, b Order) error { return nil },
	"bad-not-a-function":  Receipt{},
}

type router struct{}

func (router) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var order Order
	if err := json.Unmarshal(payload, &order); err != nil {
		return nil, err
	}
	shape, ok := shapes[order.Shape]
	if !ok {
		return nil, fmt.Errorf("no shape %q", order.Shape)
	}
	return lambda.NewHandler(shape).Invoke(ctx, payload)
}

func main() {
	lambda.StartHandler(router{})
}
