module wasm-lambda.local/lambda

go 1.27
