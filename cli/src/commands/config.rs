//! `durablectl config …`: needs no server.

use anyhow::Context;
use durable_client::Client;
use serde_json::json;

use crate::cli::ConfigCmd;
use crate::config::{self, Source, resolve_server};
use crate::output::{Printer, details};

pub(super) fn run(cmd: ConfigCmd, flag: Option<&str>, out: Printer) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::SetServer { url } => {
            // Refuse what the client would refuse later, now.
            Client::new(&url).with_context(|| format!("cannot use {url:?} as the server URL"))?;
            let path = config::config_path()?;
            config::store_server(&path, &url)?;
            out.emit(&json!({"server": url, "config_file": path}), || {
                format!("server set to {url} in {}", path.display())
            })?;
        }
        ConfigCmd::GetServer => {
            let choice = resolve_server(flag)?;
            let path = match &choice.source {
                Source::File(path) => Some(path.clone()),
                _ => config::config_path().ok(),
            };
            let json = json!({
                "server": choice.url,
                "source": choice.source.kind(),
                "config_file": path,
            });
            out.emit(&json, || details([("server", choice.url.clone()), ("from", choice.source.to_string())]))?;
        }
        ConfigCmd::Path => {
            let path = config::config_path()?;
            out.emit(&json!({"config_file": path}), || path.display().to_string())?;
        }
    }
    Ok(())
}
