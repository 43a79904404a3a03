// An SNS subscriber with no result, as notification handlers are written:
// each message is logged with its subject, topic and string attributes.
package main

import (
	"context"
	"log"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, event events.SNSEvent) {
	for _, record := range event.Records {
		message := record.SNS
		var attributes []string
		for name, value := range message.MessageAttributes {
			if attribute, ok := value.(map[string]interface{}); ok {
				attributes = append(attributes, name+"="+attribute["Value"].(string))
			}
		}
		sort.Strings(attributes)
		topic := message.TopicArn[strings.LastIndex(message.TopicArn, ":")+1:]
		log.Printf("%s on %s [%s] at %s: %s (%s)", message.Type, topic, message.Subject,
			message.Timestamp.UTC().Format("15:04:05"), message.Message, strings.Join(attributes, ","))
	}
}

func main() {
	lambda.Start(handler)
}
