package events

import (
	"encoding/json"
	"net/url"
	"time"
)

// S3Event is an S3 event notification delivered to a function: one record
// per object event.
type S3Event struct {
	Records []S3EventRecord `json:"Records"`
}

// S3EventRecord is one S3 event (ObjectCreated:Put, ObjectRemoved:Delete,
// ...). The optional *EventData fields are set only for the event kinds they
// belong to.
type S3EventRecord struct {
	EventVersion                string                         `json:"eventVersion"`
	EventSource                 string                         `json:"eventSource"`
	AWSRegion                   string                         `json:"awsRegion"`
	EventTime                   time.Time                      `json:"eventTime"`
	EventName                   string                         `json:"eventName"`
	PrincipalID                 S3UserIdentity                 `json:"userIdentity"`
	RequestParameters           S3RequestParameters            `json:"requestParameters"`
	ResponseElements            map[string]string              `json:"responseElements"`
	S3                          S3Entity                       `json:"s3"`
	GlacierEventData            *S3GlacierEventData            `json:"glacierEventData,omitempty"`
	RestoreEventData            *S3RestoreEventData            `json:"restoreEventData,omitempty"`
	ReplicationEventData        *S3ReplicationEventData        `json:"replicationEventData,omitempty"`
	IntelligentTieringEventData *S3IntelligentTieringEventData `json:"intelligentTieringEventData,omitempty"`
	LifecycleEventData          *S3LifecycleEventData          `json:"lifecycleEventData,omitempty"`
}

// S3UserIdentity names the principal that caused the event, or owns the
// bucket.
type S3UserIdentity struct {
	PrincipalID string `json:"principalId"`
}

// S3RequestParameters carries the source IP of the request behind the event.
type S3RequestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// S3Entity says which bucket and object the event is about, and which
// notification configuration sent it.
type S3Entity struct {
	SchemaVersion   string   `json:"s3SchemaVersion"`
	ConfigurationID string   `json:"configurationId"`
	Bucket          S3Bucket `json:"bucket"`
	Object          S3Object `json:"object"`
}

// S3Bucket names the bucket of an S3 event.
type S3Bucket struct {
	Name          string         `json:"name"`
	OwnerIdentity S3UserIdentity `json:"ownerIdentity"`
	Arn           string         `json:"arn"`
}

// S3Object describes the object of an S3 event. S3 sends Key URL-encoded
// (form encoding: a space arrives as "+"); decoding an S3Object from JSON
// fills URLDecodedKey with the key as stored, ready for GetObject.
type S3Object struct {
	Key           string `json:"key"`
	Size          int64  `json:"size,omitempty"`
	URLDecodedKey string `json:"urlDecodedKey"`
	VersionID     string `json:"versionId"`
	ETag          string `json:"eTag"`
	Sequencer     string `json:"sequencer"`
}

// UnmarshalJSON decodes the object and sets URLDecodedKey from Key. A key
// that is not valid URL encoding is an error.
func (o *S3Object) UnmarshalJSON(data []byte) error {
	type plain S3Object // same fields, without this method
	if err := json.Unmarshal(data, (*plain)(o)); err != nil {
		return err
	}
	decoded, err := url.QueryUnescape(o.Key)
	if err != nil {
		return err
	}
	o.URLDecodedKey = decoded
	return nil
}

// S3GlacierEventData comes with ObjectRestore events of archived objects.
type S3GlacierEventData struct {
	RestoreEventData *S3RestoreEventData `json:"restoreEventData"`
}

// S3RestoreEventData says until when a restored copy is kept and in which
// storage class.
type S3RestoreEventData struct {
	LifecycleRestorationExpiryTime time.Time `json:"lifecycleRestorationExpiryTime"`
	LifecycleRestoreStorageClass   string    `json:"lifecycleRestoreStorageClass"`
}

// S3ReplicationEventData comes with Replication events.
type S3ReplicationEventData struct {
	ReplicationRuleID string    `json:"replicationRuleId"`
	DestinationBucket string    `json:"destinationBucket"`
	S3Operation       string    `json:"s3Operation"`
	RequestTime       time.Time `json:"requestTime"`
	FailureReason     string    `json:"failureReason"`
}

// S3IntelligentTieringEventData comes with IntelligentTiering events.
type S3IntelligentTieringEventData struct {
	DestinationAccessTier string `json:"destinationAccessTier"`
}

// S3LifecycleEventData comes with LifecycleTransition events.
type S3LifecycleEventData struct {
	TransitionEventData *S3TransitionEventData `json:"transitionEventData"`
}

// S3TransitionEventData names the storage class a lifecycle rule moved the
// object to.
type S3TransitionEventData struct {
	DestinationStorageClass string `json:"destinationStorageClass"`
}

// S3TestEvent is the s3:TestEvent S3 sends once when a notification
// configuration is saved.
type S3TestEvent struct {
	Service   string    `json:"Service"`
	Bucket    string    `json:"Bucket"`
	Event     string    `json:"Event"`
	Time      time.Time `json:"Time"`
	RequestID string    `json:"RequestId"`
	HostID    string    `json:"HostId"`
}
