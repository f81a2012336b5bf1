//! The (ext) bearer-token authentication, end to end with the typed client.

use durable_app::server::Settings;
use durable_client::{Client, CreateQueue, ErrorCode};
use durable_tests::server::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_token_is_required_and_accepted() {
    let settings = Settings { auth_token: Some("s3cret".into()), ..TestServer::settings() };
    let server = TestServer::start(settings, None).await;

    let anonymous = Client::new(server.base_url()).unwrap();
    let err = anonymous.create_queue(&CreateQueue::new("guarded")).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized), "{err:?}");
    assert_eq!(err.status(), Some(401));
    anonymous.healthz().await.expect("probes need no token");

    let wrong = Client::builder(server.base_url()).token("guess").build().unwrap();
    assert!(wrong.list_queues().await.unwrap_err().is_unauthorized());

    let authorized = Client::builder(server.base_url()).token("s3cret").build().unwrap();
    authorized.create_queue(&CreateQueue::new("guarded")).await.unwrap();
    assert_eq!(authorized.list_queues().await.unwrap().len(), 1);
    server.stop().await;
}
