//! `/openapi.json` and the Swagger UI at `/docs`, from assets compiled into
//! the binary (utoipa-swagger-ui's `vendored` feature): nothing is fetched.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

const SPEC_PATH: &str = "/openapi.json";

pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let spec = Bytes::from(crate::openapi::openapi().to_json().expect("the OpenAPI document serializes"));
    let config = Arc::new(Config::new([SPEC_PATH]));
    let index = {
        let config = Arc::clone(&config);
        move || async move { asset("", &config) }
    };
    let file = move |Path(file): Path<String>| {
        let config = Arc::clone(&config);
        async move { asset(&file, &config) }
    };
    Router::new()
        .route(SPEC_PATH, get(move || async move { json(spec.clone()) }))
        .route("/docs", get(index.clone()))
        .route("/docs/", get(index))
        .route("/docs/{*file}", get(file))
}

fn json(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

fn asset(file: &str, config: &Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, Arc::clone(config)) {
        Ok(Some(found)) => {
            let body = if file.is_empty() { with_base(&found.bytes) } else { found.bytes.into_owned() };
            ([(header::CONTENT_TYPE, found.content_type)], body).into_response()
        }
        Ok(None) => ApiError::not_found(format!("no file {file:?} in the API docs")).into_response(),
        Err(e) => ApiError::internal(format!("serving the Swagger UI: {e}")).into_response(),
    }
}

/// The UI's page links its assets relatively; a `<base>` makes them resolve
/// under `/docs/` whether the page was asked for as `/docs` or `/docs/`.
fn with_base(page: &[u8]) -> Vec<u8> {
    let page = String::from_utf8_lossy(page);
    page.replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1).into_bytes()
}
