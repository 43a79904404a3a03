package events

// Window is the time span of a tumbling window of Kinesis or DynamoDB
// stream records.
type Window struct {
	Start RFC3339EpochTime `json:"start"`
	End   RFC3339EpochTime `json:"end"`
}

// TimeWindowProperties are the fields Lambda adds to a stream batch when
// tumbling windows are on: the window, the state the function returned last
// time in it, the shard, and whether this is the window's last call.
type TimeWindowProperties struct {
	Window                  Window            `json:"window"`
	State                   map[string]string `json:"state"`
	ShardID                 string            `json:"shardId"`
	EventSourceARN          string            `json:"eventSourceARN"`
	IsFinalInvokeForWindow  bool              `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool              `json:"isWindowTerminatedEarly"`
}

// TimeWindowEventResponseProperties is the state a function hands back to be
// passed to its next call in the same window.
type TimeWindowEventResponseProperties struct {
	State map[string]string `json:"state"`
}
