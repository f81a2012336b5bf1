//! Choosing the server (`--server` > `DURABLE_SERVER` > config file >
//! default), `config …`, `completions …`, help and usage errors.

mod common;

use common::{TestServer, UNREACHABLE, field};
use predicates::prelude::*;

fn write_config(server: &TestServer, url: &str) {
    std::fs::write(server.config_file(), format!("server = \"{url}\"\n")).unwrap();
}

#[test]
fn the_flag_beats_the_environment_and_the_config_file() {
    let server = TestServer::start();
    write_config(&server, UNREACHABLE);
    server
        .bare()
        .env("DURABLE_SERVER", UNREACHABLE)
        .args(["--server", server.url(), "queues", "list"])
        .assert()
        .success();
    // The other way round, the unreachable flag wins and fails.
    server
        .bare()
        .env("DURABLE_SERVER", server.url())
        .args(["--server", UNREACHABLE, "queues", "list"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot reach the server at http://127.0.0.1:1")
                .and(predicate::str::contains("from --server")),
        );
}

#[test]
fn the_environment_beats_the_config_file() {
    let server = TestServer::start();
    write_config(&server, UNREACHABLE);
    server.bare().env("DURABLE_SERVER", server.url()).args(["queues", "list"]).assert().success();
    write_config(&server, server.url());
    server
        .bare()
        .env("DURABLE_SERVER", UNREACHABLE)
        .args(["queues", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("from $DURABLE_SERVER"));
}

#[test]
fn the_config_file_beats_the_default() {
    let server = TestServer::start();
    // Nothing configured: the default, http://localhost:8080, is used.
    server
        .bare()
        .args(["--output", "json", "config", "get-server"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""server": "http://localhost:8080""#))
        .stdout(predicate::str::contains(r#""source": "default""#));

    server.bare().args(["config", "set-server", server.url()]).assert().success();
    let text = std::fs::read_to_string(server.config_file()).unwrap();
    assert!(text.contains(server.url()), "{text}");
    server.bare().args(["queues", "list"]).assert().success();

    write_config(&server, UNREACHABLE);
    server.bare().args(["queues", "list"]).assert().code(1).stderr(predicate::str::contains("from config file"));
}

#[test]
fn config_get_server_reports_the_source() {
    let server = TestServer::start();
    write_config(&server, "http://from-file:1");
    let out = server.bare().args(["-o", "json", "config", "get-server"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["server"], "http://from-file:1");
    assert_eq!(json["source"], "config");
    assert_eq!(json["config_file"], server.config_file().to_str().unwrap());

    let out = server
        .bare()
        .env("DURABLE_SERVER", "http://from-env:1")
        .args(["-o", "table", "config", "get-server"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&text, "server"), "http://from-env:1");
    assert_eq!(field(&text, "from"), "$DURABLE_SERVER");

    let out = server
        .bare()
        .env("DURABLE_SERVER", "http://from-env:1")
        .args(["-o", "table", "--server", "http://from-flag:1", "config", "get-server"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&text, "server"), "http://from-flag:1");
    assert_eq!(field(&text, "from"), "--server");

    server
        .bare()
        .args(["-o", "table", "config", "path"])
        .assert()
        .success()
        .stdout(predicate::str::contains(server.config_file().to_str().unwrap()));
}

#[test]
fn config_set_server_refuses_unusable_urls_and_broken_files() {
    let server = TestServer::start();
    server
        .bare()
        .args(["config", "set-server", "ftp://example.com"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("http:// or https://"));
    assert!(!server.config_file().exists());

    std::fs::write(server.config_file(), "server = [").unwrap();
    server.bare().args(["queues", "list"]).assert().code(1).stderr(predicate::str::contains("not valid TOML"));
    // The file is not read when the flag decides.
    server.cmd(["queues", "list"]).assert().success();
}

#[test]
fn the_token_is_accepted_from_flag_and_environment() {
    let server = TestServer::start();
    server.cmd(["--token", "secret", "queues", "list"]).assert().success();
    server.cmd(["queues", "list"]).env("DURABLE_TOKEN", "secret").assert().success();
}

#[test]
fn output_defaults_to_json_when_piped() {
    let server = TestServer::start();
    server.queue("q");
    let out = server.cmd(["queues", "list"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["queues"][0]["name"], "q");
    server.cmd(["--output", "yaml", "queues", "list"]).assert().code(2);
}

#[test]
fn completions_print_a_script() {
    let server = TestServer::start();
    for (shell, marker) in
        [("bash", "_durablectl()"), ("zsh", "#compdef durablectl"), ("fish", "complete -c durablectl")]
    {
        server
            .bare()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("workflows")));
    }
    server.bare().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn help_lists_every_command() {
    let server = TestServer::start();
    let out = server.bare().arg("--help").assert().success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let groups = [
        ("queues", &["create", "list", "delete", "stats"][..]),
        ("tasks", &["create", "claim", "list", "get", "cancel", "wait"][..]),
        ("runs", &["list", "complete", "fail", "schedule", "heartbeat"][..]),
        ("checkpoints", &["get", "list", "set"][..]),
        ("events", &["emit"][..]),
        ("workflows", &["create", "get", "list", "update"][..]),
        ("config", &["set-server", "get-server"][..]),
    ];
    for (group, commands) in groups {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{group} ")))
            .unwrap_or_else(|| panic!("{group} missing from\n{help}"));
        for command in commands {
            assert!(line.contains(command), "{group} {command} missing: {line}");
        }
        // And each group's own help lists them as subcommands.
        let out = server.bare().args([group, "--help"]).assert().success();
        let sub = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for command in commands {
            assert!(
                sub.lines().any(|l| l.trim_start().starts_with(&format!("{command} "))),
                "{group} {command} missing from\n{sub}"
            );
        }
    }
    assert!(help.contains("completions"));
    for option in ["--server", "--output", "--token", "DURABLE_SERVER", "DURABLE_TOKEN"] {
        assert!(help.contains(option), "{option} missing from\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let server = TestServer::start();
    server.bare().assert().code(2);
    server.bare().arg("frobnicate").assert().code(2);
    server.bare().args(["tasks", "create", "--queue", "q"]).assert().code(2);
    server
        .bare()
        .args(["tasks", "create", "--queue", "q", "--name", "n", "--headers", "novalue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("KEY=VALUE"));
    server
        .bare()
        .args(["tasks", "create", "--queue", "q", "--name", "n", "--retry-strategy", "linear"])
        .assert()
        .code(2);
    server.bare().args(["queues", "stats"]).assert().code(2);
    server.bare().arg("--version").assert().success();
}
