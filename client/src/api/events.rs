use reqwest::Method;

use crate::types::events::{EmitEvent, EventEmitted};
use crate::{Client, Error};

impl Client {
    /// `POST /events`: stores the event and wakes every run waiting on its
    /// name. Never retried: a repeat would be a second event.
    pub async fn emit_event(&self, event: &EmitEvent) -> Result<EventEmitted, Error> {
        let call = self.call(Method::POST, self.api_url(&["events"])?).json(event);
        self.send(call).await?.decode()
    }
}
