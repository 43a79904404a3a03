// An EventBridge rule target: a scheduled rule and an application event,
// told apart by source and detail type; the detail is decoded from its raw
// JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type OrderPlaced struct {
	OrderID string `json:"orderId"`
	Message string `json:"message"`
}

func handler(ctx context.Context, event events.EventBridgeEvent) (string, error) {
	if event.Source == "aws.events" && event.DetailType == "Scheduled Event" {
		return fmt.Sprintf("tick at %s by %s in %s", event.Time.UTC().Format("2006-01-02T15:04"),
			event.Resources[0], event.Region), nil
	}
	var detail OrderPlaced
	if err := json.Unmarshal(event.Detail, &detail); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s from %s (account %s): %s", event.DetailType, detail.OrderID,
		event.Source, event.AccountID, detail.Message), nil
}

func main() {
	lambda.Start(handler)
}
