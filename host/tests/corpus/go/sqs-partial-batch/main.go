// An SQS consumer that reports partial batch failures (ReportBatchItemFailures):
// each record's JSON body is checked, and the ids of those that fail are
// returned so that only they are retried.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type Job struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity"`
}

func process(message events.SQSMessage) error {
	var job Job
	if err := json.Unmarshal([]byte(message.Body), &job); err != nil {
		return fmt.Errorf("message %s: %w", message.MessageId, err)
	}
	if job.Quantity <= 0 {
		return fmt.Errorf("order %s: quantity %d", job.OrderID, job.Quantity)
	}
	priority := "normal"
	if attribute, ok := message.MessageAttributes["priority"]; ok && attribute.StringValue != nil {
		priority = *attribute.StringValue
	}
	log.Printf("order %s x%d (%s, receive count %s)", job.OrderID, job.Quantity, priority,
		message.Attributes["ApproximateReceiveCount"])
	return nil
}

func handler(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
	var response events.SQSEventResponse
	for _, message := range event.Records {
		if err := process(message); err != nil {
			log.Printf("failed: %v", err)
			response.BatchItemFailures = append(response.BatchItemFailures,
				events.SQSBatchItemFailure{ItemIdentifier: message.MessageId})
		}
	}
	return response, nil
}

func main() {
	lambda.Start(handler)
}
