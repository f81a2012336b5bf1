use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use durable_http::{HttpConfig, router};
use durable_ports::MockService;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) fn app(service: MockService) -> Router {
    router(Arc::new(service), HttpConfig::default())
}

/// A router whose service must not be called: the request is rejected first.
pub(crate) fn untouched() -> Router {
    app(MockService::new())
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub(crate) fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }

    /// Asserts an error reply: its status, its code and a JSON body of
    /// exactly `{"error", "code"}`; returns the message.
    pub(crate) fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.content_type(), "application/json");
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "body: {body}");
        body["error"].as_str().expect("error is a string").to_owned()
    }

    /// Asserts the status and returns the JSON body.
    pub(crate) fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.content_type(), "application/json");
        self.json()
    }
}

pub(crate) async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("body").to_vec();
    Reply { status, headers, bytes }
}

pub(crate) async fn get(app: Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub(crate) async fn delete(app: Router, uri: &str) -> Reply {
    send(app, Request::delete(uri).body(Body::empty()).unwrap()).await
}

/// A request with a JSON body and its content type.
pub(crate) async fn call(app: Router, method: Method, uri: &str, body: Value) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

pub(crate) async fn post(app: Router, uri: &str, body: Value) -> Reply {
    call(app, Method::POST, uri, body).await
}

/// A body sent as is, with the given content type (if any).
pub(crate) async fn raw(app: Router, method: Method, uri: &str, content_type: Option<&str>, body: &str) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    send(app, request.body(Body::from(body.to_owned())).unwrap()).await
}
