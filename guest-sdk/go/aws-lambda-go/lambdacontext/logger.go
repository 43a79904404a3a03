package lambdacontext

import (
	"context"
	"log/slog"
	"os"
)

// LogOption adds a field of the invocation to every record of a logger made
// by NewLogger or NewLogHandler.
type LogOption func(*logSettings)

type logSettings struct {
	fields []logField
}

type logField struct {
	name  string
	value func(*LambdaContext) string
}

// WithFunctionARN adds the invoked function's ARN as "functionArn".
func WithFunctionARN() LogOption {
	return func(settings *logSettings) {
		settings.fields = append(settings.fields, logField{"functionArn", func(lc *LambdaContext) string {
			return lc.InvokedFunctionArn
		}})
	}
}

// WithTenantID adds the invocation's tenant as "tenantId", when it has one.
func WithTenantID() LogOption {
	return func(settings *logSettings) {
		settings.fields = append(settings.fields, logField{"tenantId", func(lc *LambdaContext) string {
			return lc.TenantID
		}})
	}
}

// NewLogger returns a slog.Logger that writes to stdout in the function's log
// format (AWS_LAMBDA_LOG_FORMAT: JSON, else text), at its application log
// level (AWS_LAMBDA_LOG_LEVEL, INFO when unset), with "timestamp" and
// "message" keys and the invocation's "requestId" when logged with its
// context (logger.InfoContext(ctx, ...)).
func NewLogger(opts ...LogOption) *slog.Logger {
	return slog.New(NewLogHandler(opts...))
}

// NewLogHandler is NewLogger's handler.
func NewLogHandler(opts ...LogOption) slog.Handler {
	settings := &logSettings{}
	for _, opt := range opts {
		opt(settings)
	}
	handlerOptions := &slog.HandlerOptions{Level: logLevel(), ReplaceAttr: ReplaceAttr}
	var inner slog.Handler
	if os.Getenv("AWS_LAMBDA_LOG_FORMAT") == "JSON" {
		inner = slog.NewJSONHandler(os.Stdout, handlerOptions)
	} else {
		inner = slog.NewTextHandler(os.Stdout, handlerOptions)
	}
	return &invocationHandler{inner: inner, fields: settings.fields}
}

// ReplaceAttr renames slog's top-level time and message keys to the ones
// Lambda's JSON log records use: "timestamp" and "message".
func ReplaceAttr(groups []string, attr slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch attr.Key {
		case slog.TimeKey:
			attr.Key = "timestamp"
		case slog.MessageKey:
			attr.Key = "message"
		}
	}
	return attr
}

func logLevel() slog.Level {
	switch os.Getenv("AWS_LAMBDA_LOG_LEVEL") {
	case "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// invocationHandler adds the invocation's fields to each record.
type invocationHandler struct {
	inner  slog.Handler
	fields []logField
}

func (h *invocationHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *invocationHandler) Handle(ctx context.Context, record slog.Record) error {
	if lc, ok := FromContext(ctx); ok {
		record.AddAttrs(slog.String("requestId", lc.AwsRequestID))
		for _, field := range h.fields {
			if value := field.value(lc); value != "" {
				record.AddAttrs(slog.String(field.name, value))
			}
		}
	}
	return h.inner.Handle(ctx, record)
}

func (h *invocationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &invocationHandler{inner: h.inner.WithAttrs(attrs), fields: h.fields}
}

func (h *invocationHandler) WithGroup(name string) slog.Handler {
	return &invocationHandler{inner: h.inner.WithGroup(name), fields: h.fields}
}
