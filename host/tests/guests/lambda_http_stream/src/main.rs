// A function URL streamed with lambda_http: the response's head from the
// http::Response, its body a lambda_runtime channel that a spawned task
// writes one word at a time (the words of `?words=`).
use lambda_http::lambda_runtime::streaming::{Body, channel};
use lambda_http::{
    Error, Request, RequestExt, Response, run_with_streaming_response, service_fn, tracing,
};

async fn handler(request: Request) -> Result<Response<Body>, Error> {
    let words = request
        .query_string_parameters_ref()
        .and_then(|query| query.first("words"))
        .unwrap_or("hello streamed world")
        .to_string();
    let count = words.split(' ').count();
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        for word in words.split(' ') {
            tx.send_data(format!("{word}\n").into()).await.unwrap();
        }
    });
    Ok(Response::builder()
        .status(206)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-words", count.to_string())
        .body(rx)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run_with_streaming_response(service_fn(handler)).await
}
