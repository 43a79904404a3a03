package events

// KinesisEvent is the batch of stream records Lambda's Kinesis poller hands
// to a function.
type KinesisEvent struct {
	Records []KinesisEventRecord `json:"Records"`
}

// KinesisTimeWindowEvent is a Kinesis batch delivered with tumbling windows
// enabled: the records plus the window and the state carried across it.
type KinesisTimeWindowEvent struct {
	KinesisEvent
	TimeWindowProperties
}

// KinesisTimeWindowEventResponse returns the window state to carry forward
// and any failed records.
type KinesisTimeWindowEventResponse struct {
	TimeWindowEventResponseProperties
	BatchItemFailures []KinesisBatchItemFailure `json:"batchItemFailures"`
}

// KinesisEventRecord is one record of the batch with the stream it came from.
type KinesisEventRecord struct {
	AwsRegion         string        `json:"awsRegion"`
	EventID           string        `json:"eventID"`
	EventName         string        `json:"eventName"`
	EventSource       string        `json:"eventSource"`
	EventSourceArn    string        `json:"eventSourceARN"`
	EventVersion      string        `json:"eventVersion"`
	InvokeIdentityArn string        `json:"invokeIdentityArn"`
	Kinesis           KinesisRecord `json:"kinesis"`
}

// KinesisRecord is the Kinesis data record. Data is base64 in the JSON and
// arrives here as the raw bytes the producer put.
type KinesisRecord struct {
	ApproximateArrivalTimestamp SecondsEpochTime `json:"approximateArrivalTimestamp"`
	Data                        []byte           `json:"data"`
	EncryptionType              string           `json:"encryptionType,omitempty"`
	PartitionKey                string           `json:"partitionKey"`
	SequenceNumber              string           `json:"sequenceNumber"`
	KinesisSchemaVersion        string           `json:"kinesisSchemaVersion"`
}

// KinesisEventResponse reports the records of a batch that failed
// (ReportBatchItemFailures); Lambda retries from the lowest one.
type KinesisEventResponse struct {
	BatchItemFailures []KinesisBatchItemFailure `json:"batchItemFailures"`
}

// KinesisBatchItemFailure names one failed record by its sequence number.
type KinesisBatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}
