// An HTTP API written with lambda_http, as `cargo lambda new --http` starts
// it and published handlers grow it: routes on the method and path, path and
// query parameters and the path without the stage through RequestExt, a JSON
// body through RequestPayloadExt, and responses built with http's builder or
// from JSON.
use lambda_http::{
    Body, Error, IntoResponse, Request, RequestExt, RequestPayloadExt, Response,
    http::{Method, StatusCode},
    run, service_fn, tracing,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct NewItem {
    name: String,
    quantity: u32,
}

async fn handler(event: Request) -> Result<Response<Body>, Error> {
    // The path without API Gateway's stage (the URI's path has it).
    let path = event.raw_http_path().to_string();
    match (event.method().clone(), path.as_str()) {
        (Method::GET, _) if path.starts_with("/items/") => {
            let id = event
                .path_parameters_ref()
                .and_then(|params| params.first("id"))
                .unwrap_or("none")
                .to_string();
            let verbose = event
                .query_string_parameters_ref()
                .and_then(|params| params.first("verbose"))
                .is_some();
            tracing::info!(id = %id, "reading");
            Ok(json!({ "id": id, "verbose": verbose, "path": path })
                .into_response()
                .await)
        }
        (Method::POST, "/items") => match event.payload::<NewItem>() {
            Ok(Some(item)) => Ok(Response::builder()
                .status(StatusCode::CREATED)
                .header("content-type", "application/json")
                .header("location", format!("/items/{}", item.name))
                .body(
                    json!({ "created": item.name, "quantity": item.quantity })
                        .to_string()
                        .into(),
                )
                .map_err(Box::new)?),
            Ok(None) => Ok(Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body("a JSON body is required".into())
                .map_err(Box::new)?),
            Err(error) => Ok(Response::builder()
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .body(format!("bad body: {error}").into())
                .map_err(Box::new)?),
        },
        (method, _) => Ok(Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(format!("no route for {method} {path}").into())
            .map_err(Box::new)?),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(handler)).await
}
