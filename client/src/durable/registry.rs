//! Handlers by task name, with their typed params and results erased to JSON.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::TaskContext;

/// A handler's run: its result as JSON, or the message to fail the run with.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

type Erased = dyn Fn(TaskContext, Value) -> HandlerFuture + Send + Sync;

/// The registered handlers.
#[derive(Clone, Default)]
pub(crate) struct Registry {
    handlers: HashMap<String, Arc<Erased>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl Registry {
    pub(crate) fn insert<P, R, E, F, Fut>(&mut self, task_name: String, handler: F)
    where
        F: Fn(TaskContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        P: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Display + 'static,
    {
        let name = task_name.clone();
        let erased = move |ctx: TaskContext, params: Value| -> HandlerFuture {
            let params = match serde_json::from_value::<P>(params) {
                Ok(params) => params,
                Err(error) => {
                    let message = format!("the params of task {name:?} do not decode: {error}");
                    return Box::pin(std::future::ready(Err(message)));
                }
            };
            let run = handler(ctx, params);
            let name = name.clone();
            Box::pin(async move {
                // `{:#}` shows the whole cause chain of errors that have one (anyhow).
                let result = run.await.map_err(|error| format!("{error:#}"))?;
                serde_json::to_value(result)
                    .map_err(|error| format!("the result of task {name:?} does not encode: {error}"))
            })
        };
        self.handlers.insert(task_name, Arc::new(erased));
    }

    pub(crate) fn get(&self, task_name: &str) -> Option<Arc<Erased>> {
        self.handlers.get(task_name).cloned()
    }

    /// The registered names, sorted, for messages.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}
