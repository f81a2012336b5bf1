use reqwest::Method;

use crate::{Client, Error};

impl Client {
    /// `GET /healthz`: `Ok` when the server process is up. Not retried:
    /// a probe reports what it sees.
    pub async fn healthz(&self) -> Result<(), Error> {
        self.send(self.call(Method::GET, self.root_url(&["healthz"])?)).await?.expect_success()
    }

    /// `GET /readyz`: `true` when storage answers, `false` on 503. Not retried.
    pub async fn readyz(&self) -> Result<bool, Error> {
        let raw = self.send(self.call(Method::GET, self.root_url(&["readyz"])?)).await?;
        match raw.status {
            503 => Ok(false),
            _ => raw.expect_success().map(|()| true),
        }
    }
}
