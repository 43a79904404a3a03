package events

// DynamoDBEvent is the batch of DynamoDB Streams records Lambda hands to a
// function.
type DynamoDBEvent struct {
	Records []DynamoDBEventRecord `json:"Records"`
}

// DynamoDBTimeWindowEvent is a DynamoDB Streams batch delivered with
// tumbling windows enabled.
type DynamoDBTimeWindowEvent struct {
	DynamoDBEvent
	TimeWindowProperties
}

// DynamoDBTimeWindowEventResponse returns the window state to carry forward
// and any failed records.
type DynamoDBTimeWindowEventResponse struct {
	TimeWindowEventResponseProperties
	BatchItemFailures []DynamoDBBatchItemFailure `json:"batchItemFailures"`
}

// DynamoDBEventRecord is one change to a table item. EventName is INSERT,
// MODIFY or REMOVE; UserIdentity is set for deletions done by TTL.
type DynamoDBEventRecord struct {
	AWSRegion      string                `json:"awsRegion"`
	Change         DynamoDBStreamRecord  `json:"dynamodb"`
	EventID        string                `json:"eventID"`
	EventName      string                `json:"eventName"`
	EventSource    string                `json:"eventSource"`
	EventVersion   string                `json:"eventVersion"`
	EventSourceArn string                `json:"eventSourceARN"`
	UserIdentity   *DynamoDBUserIdentity `json:"userIdentity,omitempty"`
}

// DynamoDBUserIdentity names who made a change; for TTL deletions it is
// type "Service", principal "dynamodb.amazonaws.com".
type DynamoDBUserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
}

// DynamoDBStreamRecord is the change itself: keys, the item before and/or
// after (as the stream's view type allows), and stream bookkeeping.
type DynamoDBStreamRecord struct {
	ApproximateCreationDateTime SecondsEpochTime                  `json:"ApproximateCreationDateTime,omitempty"`
	Keys                        map[string]DynamoDBAttributeValue `json:"Keys,omitempty"`
	NewImage                    map[string]DynamoDBAttributeValue `json:"NewImage,omitempty"`
	OldImage                    map[string]DynamoDBAttributeValue `json:"OldImage,omitempty"`
	SequenceNumber              string                            `json:"SequenceNumber"`
	SizeBytes                   int64                             `json:"SizeBytes"`
	StreamViewType              string                            `json:"StreamViewType"`
}

// DynamoDBKeyType is the role of a key attribute.
type DynamoDBKeyType string

// Key attribute roles.
const (
	DynamoDBKeyTypeHash  DynamoDBKeyType = "HASH"
	DynamoDBKeyTypeRange DynamoDBKeyType = "RANGE"
)

// DynamoDBOperationType is the kind of change a stream record reports (the
// record's EventName).
type DynamoDBOperationType string

// Stream record operations.
const (
	DynamoDBOperationTypeInsert DynamoDBOperationType = "INSERT"
	DynamoDBOperationTypeModify DynamoDBOperationType = "MODIFY"
	DynamoDBOperationTypeRemove DynamoDBOperationType = "REMOVE"
)

// DynamoDBSharedIteratorType is a DynamoDB Streams shard iterator type.
type DynamoDBSharedIteratorType string

// Shard iterator types.
const (
	DynamoDBShardIteratorTypeTrimHorizon         DynamoDBSharedIteratorType = "TRIM_HORIZON"
	DynamoDBShardIteratorTypeLatest              DynamoDBSharedIteratorType = "LATEST"
	DynamoDBShardIteratorTypeAtSequenceNumber    DynamoDBSharedIteratorType = "AT_SEQUENCE_NUMBER"
	DynamoDBShardIteratorTypeAfterSequenceNumber DynamoDBSharedIteratorType = "AFTER_SEQUENCE_NUMBER"
)

// DynamoDBStreamStatus is the state of a table's stream.
type DynamoDBStreamStatus string

// Stream states.
const (
	DynamoDBStreamStatusEnabling  DynamoDBStreamStatus = "ENABLING"
	DynamoDBStreamStatusEnabled   DynamoDBStreamStatus = "ENABLED"
	DynamoDBStreamStatusDisabling DynamoDBStreamStatus = "DISABLING"
	DynamoDBStreamStatusDisabled  DynamoDBStreamStatus = "DISABLED"
)

// DynamoDBStreamViewType says which item images a stream records (the
// record's StreamViewType).
type DynamoDBStreamViewType string

// Stream view types.
const (
	DynamoDBStreamViewTypeNewImage        DynamoDBStreamViewType = "NEW_IMAGE"
	DynamoDBStreamViewTypeOldImage        DynamoDBStreamViewType = "OLD_IMAGE"
	DynamoDBStreamViewTypeNewAndOldImages DynamoDBStreamViewType = "NEW_AND_OLD_IMAGES"
	DynamoDBStreamViewTypeKeysOnly        DynamoDBStreamViewType = "KEYS_ONLY"
)

// DynamoDBEventResponse reports the records of a batch that failed
// (ReportBatchItemFailures).
type DynamoDBEventResponse struct {
	BatchItemFailures []DynamoDBBatchItemFailure `json:"batchItemFailures"`
}

// DynamoDBBatchItemFailure names one failed record by its sequence number.
type DynamoDBBatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}
