// A CloudWatch Logs subscription filter target: the gzipped, base64 payload
// is opened with Parse, and the error lines are counted and forwarded.
package main

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type Alert struct {
	Group   string   `json:"group"`
	Owner   string   `json:"owner"`
	Filters []string `json:"filters"`
	Errors  []string `json:"errors"`
	Seen    int      `json:"seen"`
	FirstMs int64    `json:"firstMs"`
}

func handler(ctx context.Context, event events.CloudwatchLogsEvent) (Alert, error) {
	data, err := event.AWSLogs.Parse()
	if err != nil {
		return Alert{}, err
	}
	alert := Alert{Group: data.LogGroup, Owner: data.Owner, Filters: data.SubscriptionFilters, Seen: len(data.LogEvents)}
	for i, line := range data.LogEvents {
		if i == 0 {
			alert.FirstMs = line.Timestamp
		}
		if strings.Contains(line.Message, "ERROR") {
			alert.Errors = append(alert.Errors, line.Message)
		}
	}
	return alert, nil
}

func main() {
	lambda.Start(handler)
}
