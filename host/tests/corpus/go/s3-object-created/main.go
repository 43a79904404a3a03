// An S3 notification handler with only an error result: it logs each new
// object by its decoded key, size and bucket, and fails for objects it
// refuses, as upload validators do.
package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, event events.S3Event) error {
	for _, record := range event.Records {
		object := record.S3.Object
		if strings.HasSuffix(object.URLDecodedKey, ".exe") {
			return fmt.Errorf("refusing %s in %s", object.URLDecodedKey, record.S3.Bucket.Name)
		}
		fmt.Printf("%s: s3://%s/%s (%s, %d bytes, raw key %s, ext %s)\n", record.EventName,
			record.S3.Bucket.Name, object.URLDecodedKey, record.AWSRegion, object.Size, object.Key,
			path.Ext(object.URLDecodedKey))
	}
	return nil
}

func main() {
	lambda.Start(handler)
}
