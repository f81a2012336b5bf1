//! The config file (`config.toml` in the platform config directory, e.g.
//! `~/.config/durable/`; `$DURABLE_CONFIG_DIR` overrides the directory) and
//! the choice of server: `--server` > `$DURABLE_SERVER` > the file's `server`
//! > [`DEFAULT_SERVER`].

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Environment variable naming the directory of `config.toml`.
pub(crate) const ENV_CONFIG_DIR: &str = "DURABLE_CONFIG_DIR";
/// Environment variable naming the server.
pub(crate) const ENV_SERVER: &str = "DURABLE_SERVER";
/// The server when nothing names one.
pub(crate) const DEFAULT_SERVER: &str = "http://localhost:8080";
const FILE_NAME: &str = "config.toml";
const SERVER_KEY: &str = "server";

/// Where the server URL in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--server`.
    Flag,
    /// `$DURABLE_SERVER`.
    Env,
    /// The config file at this path.
    File(PathBuf),
    /// Nothing named a server.
    Default,
}

impl Source {
    /// A short machine-readable name.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Env => "env",
            Self::File(_) => "config",
            Self::Default => "default",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("--server"),
            Self::Env => write!(f, "${ENV_SERVER}"),
            Self::File(path) => write!(f, "config file {}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// The server to talk to and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerChoice {
    /// The URL.
    pub url: String,
    /// Where it came from.
    pub source: Source,
}

/// The directory holding `config.toml`.
pub(crate) fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_CONFIG_DIR).filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match dirs::config_dir() {
        Some(dir) => Ok(dir.join("durable")),
        None => bail!("cannot find the config directory; set ${ENV_CONFIG_DIR}"),
    }
}

/// The path of `config.toml`.
pub(crate) fn config_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join(FILE_NAME))
}

/// The config file as a TOML table; empty when there is no file.
fn read_table(path: &Path) -> anyhow::Result<toml::Table> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.parse::<toml::Table>().with_context(|| format!("config file {} is not valid TOML", path.display()))
}

/// The `server` of the config file at `path`, if it names one.
pub(crate) fn file_server(path: &Path) -> anyhow::Result<Option<String>> {
    let table = read_table(path)?;
    match table.get(SERVER_KEY) {
        None => Ok(None),
        Some(toml::Value::String(url)) if !url.is_empty() => Ok(Some(url.clone())),
        Some(_) => bail!("config file {}: `{SERVER_KEY}` must be a non-empty string", path.display()),
    }
}

/// Sets `server` in the config file at `path`, keeping its other keys, and
/// creates the file and its directory when needed.
pub(crate) fn store_server(path: &Path, url: &str) -> anyhow::Result<()> {
    let mut table = read_table(path)?;
    table.insert(SERVER_KEY.to_owned(), toml::Value::String(url.to_owned()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = toml::to_string(&table).context("serializing the config")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `--server` > `$DURABLE_SERVER` > the config file > the default. The file
/// is only read when neither the flag nor the variable names a server.
pub(crate) fn resolve_server(flag: Option<&str>) -> anyhow::Result<ServerChoice> {
    let env = std::env::var(ENV_SERVER).ok();
    resolve(flag, env.as_deref(), || {
        let path = config_path()?;
        Ok(file_server(&path)?.map(|url| (url, path)))
    })
}

fn resolve(
    flag: Option<&str>,
    env: Option<&str>,
    file: impl FnOnce() -> anyhow::Result<Option<(String, PathBuf)>>,
) -> anyhow::Result<ServerChoice> {
    let choice = |url: &str, source| ServerChoice { url: url.to_owned(), source };
    if let Some(url) = flag.filter(|url| !url.is_empty()) {
        return Ok(choice(url, Source::Flag));
    }
    if let Some(url) = env.filter(|url| !url.is_empty()) {
        return Ok(choice(url, Source::Env));
    }
    Ok(match file()? {
        Some((url, path)) => choice(&url, Source::File(path)),
        None => choice(DEFAULT_SERVER, Source::Default),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(url: &str) -> impl FnOnce() -> anyhow::Result<Option<(String, PathBuf)>> {
        let url = url.to_owned();
        move || Ok(Some((url, PathBuf::from("/c/config.toml"))))
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let r = resolve(Some("http://flag"), Some("http://env"), from_file("http://file")).unwrap();
        assert_eq!((r.url.as_str(), r.source), ("http://flag", Source::Flag));
        let r = resolve(None, Some("http://env"), from_file("http://file")).unwrap();
        assert_eq!((r.url.as_str(), r.source), ("http://env", Source::Env));
        let r = resolve(None, Some(""), from_file("http://file")).unwrap();
        assert_eq!(r.url, "http://file");
        assert_eq!(r.source.kind(), "config");
        let r = resolve(None, None, || Ok(None)).unwrap();
        assert_eq!((r.url.as_str(), r.source), (DEFAULT_SERVER, Source::Default));
    }

    #[test]
    fn the_file_is_not_read_when_flag_or_env_decide() {
        let broken = || -> anyhow::Result<Option<(String, PathBuf)>> { bail!("unreadable") };
        assert!(resolve(Some("http://flag"), None, broken).is_ok());
        assert!(resolve(None, Some("http://env"), broken).is_ok());
        assert!(resolve(None, None, broken).is_err());
    }

    #[test]
    fn stores_the_server_and_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(file_server(&path).unwrap(), None);
        store_server(&path, "http://a:1").unwrap();
        assert_eq!(file_server(&path).unwrap().as_deref(), Some("http://a:1"));
        std::fs::write(&path, "other = 5\nserver = \"http://b\"\n").unwrap();
        store_server(&path, "http://c").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("other = 5") && text.contains("http://c"), "{text}");
        std::fs::write(&path, "server = [").unwrap();
        assert!(file_server(&path).is_err());
        std::fs::write(&path, "server = 3").unwrap();
        assert!(file_server(&path).is_err());
    }
}
