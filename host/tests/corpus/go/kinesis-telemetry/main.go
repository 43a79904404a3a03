// A Kinesis consumer without a context argument: each record's data arrives
// decoded from base64; JSON readings are summed per device, and records
// that are not JSON are reported by sequence number.
package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type Reading struct {
	Device string  `json:"device"`
	Value  float64 `json:"value"`
}

type Summary struct {
	Totals            string                           `json:"totals"`
	Partitions        []string                         `json:"partitions"`
	FirstArrival      int64                            `json:"firstArrival"`
	BatchItemFailures []events.KinesisBatchItemFailure `json:"batchItemFailures"`
}

func handler(event events.KinesisEvent) (Summary, error) {
	totals := map[string]float64{}
	var summary Summary
	for i, record := range event.Records {
		var reading Reading
		if err := json.Unmarshal(record.Kinesis.Data, &reading); err != nil {
			summary.BatchItemFailures = append(summary.BatchItemFailures,
				events.KinesisBatchItemFailure{ItemIdentifier: record.Kinesis.SequenceNumber})
			continue
		}
		totals[reading.Device] += reading.Value
		summary.Partitions = append(summary.Partitions, record.Kinesis.PartitionKey)
		if i == 0 {
			summary.FirstArrival = record.Kinesis.ApproximateArrivalTimestamp.Unix()
		}
	}
	var parts []string
	for device, total := range totals {
		parts = append(parts, fmt.Sprintf("%s:%.1f", device, total))
	}
	sort.Strings(parts)
	summary.Totals = strings.Join(parts, ",")
	return summary, nil
}

func main() {
	lambda.Start(handler)
}
