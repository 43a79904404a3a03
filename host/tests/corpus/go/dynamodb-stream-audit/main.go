// A DynamoDB Streams consumer in the shape of published audit handlers: it
// reads the new and old images through the attribute value accessors and
// reports the records it cannot handle as batch item failures.
package main

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func describe(image map[string]events.DynamoDBAttributeValue) string {
	var parts []string
	for name, value := range image {
		var text string
		switch value.DataType() {
		case events.DataTypeString:
			text = value.String()
		case events.DataTypeNumber:
			n, err := value.Int64()
			if err != nil {
				f, _ := value.Float()
				text = fmt.Sprintf("%.2f", f)
			} else {
				text = fmt.Sprint(n)
			}
		case events.DataTypeBoolean:
			text = fmt.Sprint(value.Boolean())
		case events.DataTypeStringSet:
			set := append([]string(nil), value.StringSet()...)
			sort.Strings(set)
			text = "{" + strings.Join(set, ",") + "}"
		case events.DataTypeList:
			text = fmt.Sprintf("[%d items]", len(value.List()))
		case events.DataTypeMap:
			text = "{" + describe(value.Map()) + "}"
		case events.DataTypeNull:
			text = "null"
		default:
			text = "?"
		}
		parts = append(parts, name+"="+text)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func handler(ctx context.Context, event events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var response events.DynamoDBEventResponse
	for _, record := range event.Records {
		change := record.Change
		switch events.DynamoDBOperationType(record.EventName) {
		case events.DynamoDBOperationTypeInsert:
			log.Printf("INSERT %s", describe(change.NewImage))
		case events.DynamoDBOperationTypeModify:
			log.Printf("MODIFY %s -> %s", describe(change.OldImage), describe(change.NewImage))
		case events.DynamoDBOperationTypeRemove:
			log.Printf("REMOVE keys %s", describe(change.Keys))
		default:
			response.BatchItemFailures = append(response.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: change.SequenceNumber})
		}
	}
	return response, nil
}

func main() {
	lambda.Start(handler)
}
