package events

// SQSEvent is the batch of messages Lambda's SQS poller hands to a function.
type SQSEvent struct {
	Records []SQSMessage `json:"Records"`
}

// SQSMessage is one message of an SQS batch: its body, system attributes
// (SentTimestamp, ApproximateReceiveCount, ...) and message attributes.
type SQSMessage struct {
	MessageId              string                         `json:"messageId"` //nolint:revive // name kept from aws-lambda-go
	ReceiptHandle          string                         `json:"receiptHandle"`
	Body                   string                         `json:"body"`
	Md5OfBody              string                         `json:"md5OfBody"`
	Md5OfMessageAttributes string                         `json:"md5OfMessageAttributes"`
	Attributes             map[string]string              `json:"attributes"`
	MessageAttributes      map[string]SQSMessageAttribute `json:"messageAttributes"`
	EventSourceARN         string                         `json:"eventSourceARN"`
	EventSource            string                         `json:"eventSource"`
	AWSRegion              string                         `json:"awsRegion"`
}

// SQSMessageAttribute is a typed message attribute. DataType is "String",
// "Number" or "Binary" (optionally with a custom suffix); binary values are
// base64 in JSON.
type SQSMessageAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// SQSEventResponse reports the messages of a batch that failed, so that only
// they return to the queue (ReportBatchItemFailures).
type SQSEventResponse struct {
	BatchItemFailures []SQSBatchItemFailure `json:"batchItemFailures"`
}

// SQSBatchItemFailure names one failed message by its message id.
type SQSBatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}
