package lambda

// The glue between Go and the `handler` world of guest-sdk/wit/handler.wit,
// written by hand against the canonical ABI. `wasm-lambda build` checks the
// module's exports against the WIT when it makes the component, so a changed
// export or signature fails the build. The offsets the glue reads and writes
// are not checked there: they are the abi constants below, which the host's
// test `core_module::tests::the_glue_offsets_match_the_wit` compares with the
// WIT's layout.

import (
	"context"
	"os"
	"time"
	"unsafe"
)

//go:wasmimport wasm-lambda:handler/runtime@0.2.0 remaining-time-ms
func remainingTimeMs() uint64

// cabi_realloc never uses Go's allocator. The canonical ABI forbids calling
// imports while the host is handing arguments over, and Go's allocator may
// call WASI (a clock read when a large allocation starts a GC), which traps.
// Early on it could not be used at all: the WASI adapter allocates its state
// through cabi_realloc while the runtime is still starting (inside
// _initialize). So memory comes from the runtime's sbrk: before package
// initialisation as permanent blocks (the adapter's state), after it from
// arenas that are reused once handle has copied the arguments out.
//
//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer

//go:linkname mainMain main.main
func mainMain()

var (
	initialized bool
	mainDone    bool
)

func init() { initialized = true }

// An arena: a block from sbrk, bump-allocated and reset after each call.
type arena struct {
	base unsafe.Pointer
	size uintptr
	used uintptr
}

// Fixed-size, so cabi_realloc itself allocates nothing.
var (
	arenas      [32]arena
	arenaCount  int
	minArenaLen uintptr = 64 << 10
)

func arenaAlloc(size, align uintptr) unsafe.Pointer {
	for i := 0; i < arenaCount; i++ {
		a := &arenas[i]
		start := (uintptr(a.base) + a.used + align - 1) &^ (align - 1)
		if start+size <= uintptr(a.base)+a.size {
			a.used = start + size - uintptr(a.base)
			return unsafe.Pointer(start)
		}
	}
	length := max(minArenaLen, 2*(size+align))
	base := sbrk(length)
	if base == nil {
		panic("wasm-lambda: out of memory for the invocation's arguments")
	}
	if arenaCount < len(arenas) {
		arenas[arenaCount] = arena{base: base, size: length}
		arenaCount++
		return arenaAlloc(size, align)
	}
	// Every arena slot is taken: hand out the block unmanaged (never reused).
	return unsafe.Pointer((uintptr(base) + align - 1) &^ (align - 1))
}

// releaseArguments makes the arenas reusable: handle has copied everything
// the host passed in.
func releaseArguments() {
	for i := 0; i < arenaCount; i++ {
		arenas[i].used = 0
	}
}

//go:wasmexport cabi_realloc
func cabiRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if newSize == 0 {
		return unsafe.Pointer(uintptr(align))
	}
	var fresh unsafe.Pointer
	if initialized {
		fresh = arenaAlloc(uintptr(newSize), uintptr(max(align, 1)))
	} else {
		fresh = sbrk(uintptr(newSize))
	}
	if old != nil {
		n := min(oldSize, newSize)
		copy(unsafe.Slice((*byte)(fresh), n), unsafe.Slice((*byte)(old), n))
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

// The canonical ABI's layout of handle's arguments and result on wasm32, in
// bytes: the arguments' offsets from the start of the buffer the host passes
// in, the result's from the start of the buffer handed back. The host's test
// `core_module::tests::the_glue_offsets_match_the_wit` derives each from the
// WIT and fails when one differs, is missing or is defined twice, or when the
// code below this block writes a number other than 0, 1, 2 or 4 (tags, counts,
// a string's length after its pointer) instead of naming an offset.
const (
	abiEvent                                = 0
	abiContextAwsRequestID                  = 8
	abiContextFunctionName                  = 16
	abiContextFunctionVersion               = 24
	abiContextInvokedFunctionArn            = 32
	abiContextMemoryLimitInMB               = 40
	abiContextLogGroupName                  = 44
	abiContextLogStreamName                 = 52
	abiContextDeadlineMs                    = 64
	abiContextTraceID                       = 72
	abiContextIdentity                      = 84
	abiContextIdentityCognitoIdentityID     = 88
	abiContextIdentityCognitoIdentityPoolID = 96
	abiContextClientContext                 = 104
	abiContextTenantID                      = 116
	abiResultPayload                        = 4
	abiResultSize                           = 28
	abiHandlerErrorErrorType                = 4
	abiHandlerErrorErrorMessage             = 12
	abiHandlerErrorStackTrace               = 20
)

// result is the result<string, handler-error> handed back: its tag (0 for ok,
// 1 for an error) at 0, then the string or the handler-error.
var (
	result   [abiResultSize / 4]uint32
	returned [][]byte
)

// putU32 writes value at byte offset at of result.
func putU32(at uintptr, value uint32) {
	*(*uint32)(unsafe.Add(unsafe.Pointer(&result), at)) = value
}

// putString writes text's pointer at byte offset at of result, its length
// after it.
func putString(at uintptr, text []byte) {
	returned = append(returned, text)
	var ptr uint32
	if len(text) > 0 {
		ptr = uint32(uintptr(unsafe.Pointer(&text[0])))
	}
	putU32(at, ptr)
	putU32(at+4, uint32(len(text)))
}

// handle(event: string, context: context) -> result<string, handler-error>.
// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
// buffer.
//
//go:wasmexport handle
func handle(args unsafe.Pointer) unsafe.Pointer {
	at := func(offset uintptr) unsafe.Pointer { return unsafe.Add(args, offset) }
	event := []byte(stringAt(at(abiEvent)))
	lc := &Context{
		AwsRequestID:       stringAt(at(abiContextAwsRequestID)),
		FunctionName:       stringAt(at(abiContextFunctionName)),
		FunctionVersion:    stringAt(at(abiContextFunctionVersion)),
		InvokedFunctionArn: stringAt(at(abiContextInvokedFunctionArn)),
		MemoryLimitInMB:    int(*(*uint32)(at(abiContextMemoryLimitInMB))),
		LogGroupName:       stringAt(at(abiContextLogGroupName)),
		LogStreamName:      stringAt(at(abiContextLogStreamName)),
		Deadline:           time.UnixMilli(int64(*(*uint64)(at(abiContextDeadlineMs)))),
		XRayTraceID:        optionalStringAt(at(abiContextTraceID)),
		ClientContext:      optionalStringAt(at(abiContextClientContext)),
		TenantID:           optionalStringAt(at(abiContextTenantID)),
	}
	lc.TraceID = lc.XRayTraceID
	// Each invocation's own trace header in the environment, as Lambda's Go
	// runtime sets it. What Go read at the instance's start may hold another
	// invocation's (a reused sandbox's first) or none (a sandbox the host
	// made ahead of its invocation). Go's runtime reads the environment at
	// start-up, so looking at it here asks the host for nothing.
	if current, set := os.LookupEnv("_X_AMZN_TRACE_ID"); lc.XRayTraceID == "" {
		if set {
			os.Unsetenv("_X_AMZN_TRACE_ID")
		}
	} else if !set || current != lc.XRayTraceID {
		os.Setenv("_X_AMZN_TRACE_ID", lc.XRayTraceID)
	}
	if *(*uint8)(at(abiContextIdentity)) != 0 {
		lc.Identity = &CognitoIdentity{
			CognitoIdentityID:     stringAt(at(abiContextIdentityCognitoIdentityID)),
			CognitoIdentityPoolID: stringAt(at(abiContextIdentityCognitoIdentityPoolID)),
		}
	}
	// Everything is copied: the host's buffers can be reused.
	releaseArguments()

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
		putString(abiResultPayload, payload)
		return unsafe.Pointer(&result)
	}
	result[0] = 1
	putString(abiHandlerErrorErrorType, []byte(failure.Type))
	putString(abiHandlerErrorErrorMessage, []byte(failure.Message))
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
	var linesAt uint32
	if len(lines) > 0 {
		pinnedLines = lines
		linesAt = uint32(uintptr(unsafe.Pointer(&lines[0])))
	}
	putU32(abiHandlerErrorStackTrace, linesAt)
	putU32(abiHandlerErrorStackTrace+4, uint32(len(failure.Stack)))
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
