package lambda

// The glue between Go and the `handler` world of guest-sdk/wit/handler.wit,
// written by hand against the canonical ABI (the offsets are that ABI's
// layout of the WIT types on wasm32). `wasm-lambda build` checks the
// module's exports against the WIT when it makes the component, so a drift
// between the two fails the build.

import (
	"context"
	"time"
	"unsafe"
)

//go:wasmimport wasm-lambda:handler/runtime@0.1.0 remaining-time-ms
func remainingTimeMs() uint64

// The WASI adapter allocates its state through cabi_realloc while Go's
// runtime is still starting (inside _initialize), when the Go heap cannot be
// used yet. Those first allocations come straight from the runtime's sbrk
// and are never freed; later ones are Go memory, kept reachable in `pinned`
// until the host is done with them.
//
//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer

//go:linkname mainMain main.main
func mainMain()

var (
	initialized bool
	mainDone    bool
	pinned      [][]uint64
)

func init() { initialized = true }

//go:wasmexport cabi_realloc
func cabiRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if newSize == 0 {
		return unsafe.Pointer(uintptr(align))
	}
	if !initialized {
		fresh := sbrk(uintptr(newSize))
		if old != nil {
			copy(unsafe.Slice((*byte)(fresh), oldSize), unsafe.Slice((*byte)(old), oldSize))
		}
		return fresh
	}
	// []uint64 keeps every block 8-aligned, the most any WIT type asks.
	block := make([]uint64, (newSize+7)/8)
	pinned = append(pinned, block)
	fresh := unsafe.Pointer(&block[0])
	if old != nil {
		copy(unsafe.Slice((*byte)(fresh), min(oldSize, newSize)), unsafe.Slice((*byte)(old), oldSize))
	}
	return fresh
}

func stringAt(at unsafe.Pointer) string {
	ptr := *(*uint32)(at)
	length := *(*uint32)(unsafe.Add(at, 4))
	if length == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), length))
}

func optionalStringAt(at unsafe.Pointer) string {
	if *(*uint8)(at) == 0 {
		return ""
	}
	return stringAt(unsafe.Add(at, 4))
}

// result is the result<string, handler-error> handed back: tag at 0, payload at 4.
var (
	result   [7]uint32
	returned [][]byte
)

func putString(slot int, text []byte) {
	returned = append(returned, text)
	if len(text) > 0 {
		result[slot] = uint32(uintptr(unsafe.Pointer(&text[0])))
	} else {
		result[slot] = 0
	}
	result[slot+1] = uint32(len(text))
}

// handle(event: string, context: context) -> result<string, handler-error>.
// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
// buffer: the event at 0, the context record (8-aligned) at 8.
//
//go:wasmexport handle
func handle(args unsafe.Pointer) unsafe.Pointer {
	event := []byte(stringAt(args))
	c := unsafe.Add(args, 8)
	lc := &Context{
		AwsRequestID:       stringAt(c),
		FunctionName:       stringAt(unsafe.Add(c, 8)),
		FunctionVersion:    stringAt(unsafe.Add(c, 16)),
		InvokedFunctionArn: stringAt(unsafe.Add(c, 24)),
		MemoryLimitInMB:    int(*(*uint32)(unsafe.Add(c, 32))),
		LogGroupName:       stringAt(unsafe.Add(c, 36)),
		LogStreamName:      stringAt(unsafe.Add(c, 44)),
		Deadline:           time.UnixMilli(int64(*(*uint64)(unsafe.Add(c, 56)))),
		TraceID:            optionalStringAt(unsafe.Add(c, 64)),
		ClientContext:      optionalStringAt(unsafe.Add(c, 96)),
		TenantID:           optionalStringAt(unsafe.Add(c, 108)),
	}
	if *(*uint8)(unsafe.Add(c, 76)) != 0 {
		lc.Identity = &CognitoIdentity{
			CognitoIdentityID:     stringAt(unsafe.Add(c, 80)),
			CognitoIdentityPoolID: stringAt(unsafe.Add(c, 88)),
		}
	}
	// Everything is copied: the host's buffers can go.
	pinned = nil

	// main registers the handler (lambda.Start), once per instance, like
	// Lambda's init phase.
	if !mainDone {
		mainDone = true
		mainMain()
	}
	ctx, cancel := context.WithDeadline(NewContext(context.Background(), lc), lc.Deadline)
	defer cancel()
	payload, failure := invoke(ctx, event)

	returned = nil
	if failure == nil {
		result[0] = 0
		putString(1, payload)
		return unsafe.Pointer(&result)
	}
	result[0] = 1
	putString(1, []byte(failure.Type))
	putString(3, []byte(failure.Message))
	// The stack trace: a list<string>, 8 bytes (pointer, length) per line.
	lines := make([]uint32, 2*len(failure.Stack))
	for i, line := range failure.Stack {
		text := []byte(line)
		returned = append(returned, text)
		if len(text) > 0 {
			lines[2*i] = uint32(uintptr(unsafe.Pointer(&text[0])))
		}
		lines[2*i+1] = uint32(len(text))
	}
	if len(lines) > 0 {
		pinnedLines = lines
		result[5] = uint32(uintptr(unsafe.Pointer(&lines[0])))
	} else {
		result[5] = 0
	}
	result[6] = uint32(len(failure.Stack))
	return unsafe.Pointer(&result)
}

var pinnedLines []uint32

// The host has copied the result: let the garbage collector have it.
//
//go:wasmexport cabi_post_handle
func cabiPostHandle(unsafe.Pointer) {
	returned = nil
	pinnedLines = nil
}
