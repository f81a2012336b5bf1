//! `/metrics` is served only with a renderer, and every request is timed by
//! its route template.

use std::sync::{Arc, Mutex};

use durable_http::{HttpConfig, router};
use durable_ports::{Metrics, MockService, Observation};

use crate::harness::{get, untouched};

#[derive(Default)]
struct Recorded(Mutex<Vec<Observation>>);

impl Metrics for Recorded {
    fn record(&self, observation: Observation) {
        self.0.lock().unwrap().push(observation);
    }
}

#[tokio::test]
async fn without_a_renderer_there_is_no_metrics_route() {
    get(untouched(), "/metrics").await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_renderer_answers_in_the_prometheus_text_format() {
    let config =
        HttpConfig { metrics_renderer: Some(Arc::new(|| "durable_up 1\n".to_owned())), ..HttpConfig::default() };
    let reply = get(router(Arc::new(MockService::new()), config), "/metrics").await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(reply.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(reply.bytes, b"durable_up 1\n");
}

#[tokio::test]
async fn each_request_is_recorded_with_its_route_template() {
    let recorded = Arc::new(Recorded::default());
    let config = HttpConfig { metrics: recorded.clone(), ..HttpConfig::default() };
    let app = router(Arc::new(MockService::new()), config);
    get(app.clone(), "/api/v1/tasks/not-a-uuid").await.error(400, "VALIDATION_ERROR");
    get(app, "/no/such/thing").await.error(404, "NOT_FOUND");

    let observed: Vec<_> = recorded
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|o| match o {
            Observation::HttpRequest { route, method, status, seconds } => {
                assert!(*seconds >= 0.0);
                (route.clone(), method.clone(), *status)
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        observed,
        [
            ("/api/v1/tasks/{task_id}".to_owned(), "GET".to_owned(), 400),
            ("unmatched".to_owned(), "GET".to_owned(), 404),
        ]
    );
}
