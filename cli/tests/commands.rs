//! Black-box tests of the one-shot commands: the built binary against the
//! real Worker under `wrangler dev` (one server shared by this file; every
//! test makes its own key, so tests are separate tenants).

mod common;

use common::*;
use meet_ai_e2e::{Api, Server};
use serde_json::{json, Value};

fn base() -> String {
    Server::shared().base.clone()
}

fn api() -> Api {
    Api::new(&base())
}

#[tokio::test]
async fn generate_key_create_room_send_and_poll_round_trip() {
    let anonymous = Cli::new(&base(), None);
    let created = anonymous.run(&["generate-key"]).json();
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("mai_") && key.len() == 28, "{created}");
    assert_eq!(created["prefix"], json!(&key[..8]));

    let cli = Cli::new(&base(), Some(&key));
    assert_eq!(cli.run(&["rooms"]).json(), json!([]));
    let room = cli.run(&["create-room", "round", "trip"]).json();
    assert_eq!(room["name"], "round trip");
    let id = room["id"].as_str().unwrap().to_owned();
    assert_eq!(cli.run(&["rooms"]).json(), json!([room]));

    let first = cli
        .run(&["send-message", &id, "claude", "hello", "from", "the", "cli"])
        .json();
    assert_eq!(first["content"], "hello from the cli");
    assert_eq!(first["sender"], "claude");
    assert_eq!(first["sender_type"], "agent");
    assert_eq!(first["room_id"], json!(id));
    let second = cli
        .run(&[
            "send-message",
            &id,
            "ada",
            "--sender-type",
            "human",
            "--color",
            "#AABBCC",
            "hi",
            "claude",
        ])
        .json();
    assert_eq!(second["sender_type"], "human");
    assert_eq!(second["color"], "#aabbcc");
    assert_eq!(second["content"], "hi claude");

    // poll prints the server's objects, oldest first.
    assert_eq!(cli.run(&["poll", &id]).json(), json!([first, second]));
    assert_eq!(
        cli.run(&["poll", &id, "--exclude", "claude"]).json(),
        json!([second])
    );
    let after = first["id"].as_str().unwrap();
    assert_eq!(
        cli.run(&["poll", &id, "--after", after]).json(),
        json!([second])
    );
    assert_eq!(
        cli.run(&["poll", &id, "--limit", "1"]).json(),
        json!([second])
    );
    assert_eq!(
        cli.run(&["poll", &id, "--exclude", "claude", "--exclude", "ada"])
            .json(),
        json!([])
    );
    // And the server holds exactly these two.
    let history = api().history(&key, &id, "").await;
    assert_eq!(
        serde_json::to_value(&history).unwrap(),
        json!([first, second])
    );
}

#[tokio::test]
async fn a_room_can_be_named_instead_of_its_id() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let sent = cli
        .run(&["send-message", "test room", "me", "by name"])
        .json();
    assert_eq!(sent["room_id"], json!(room.id));
    assert_eq!(cli.run(&["poll", "test room"]).json(), json!([sent]));
    let err = cli.run(&["poll", "no such room"]).error(4);
    assert!(err.starts_with("room not found"), "{err}");
}

#[tokio::test]
async fn dotenv_supplies_url_and_key_and_the_environment_wins() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new("http://unused.invalid", None);
    write_file(
        &cli.path(".env"),
        &format!("# meet-ai\nMEET_AI_URL={}\nMEET_AI_KEY={key}\n", base()),
    );

    // .env alone.
    let mut cmd = cli.command(&["rooms"]);
    cmd.env_remove("MEET_AI_URL");
    let rooms = run(cmd, None).json();
    assert_eq!(rooms[0]["id"], json!(room.id));

    // The environment beats .env: a closed port in MEET_AI_URL is used.
    let down = format!("http://127.0.0.1:{}", closed_port());
    let mut cmd = cli.command(&["rooms"]);
    cmd.env("MEET_AI_URL", &down);
    let err = run(cmd, None).error(6);
    assert!(
        err.starts_with(&format!("cannot reach the server at {down}")),
        "{err}"
    );

    // --url beats the environment.
    let mut cmd = cli.command(&["rooms", "--url", &base()]);
    cmd.env("MEET_AI_URL", &down);
    assert_eq!(run(cmd, None).json()[0]["id"], json!(room.id));

    // MEET_AI_KEY in the environment beats .env's key...
    let mut cmd = cli.command(&["rooms", "--url", &base()]);
    cmd.env_remove("MEET_AI_URL")
        .env("MEET_AI_KEY", UNKNOWN_KEY);
    assert_eq!(run(cmd, None).error(3), "invalid or revoked API key");
    // ...and --key beats both.
    let mut cmd = cli.command(&["rooms", "--key", &key, "--url", &base()]);
    cmd.env_remove("MEET_AI_URL")
        .env("MEET_AI_KEY", UNKNOWN_KEY);
    assert_eq!(run(cmd, None).json()[0]["id"], json!(room.id));

    // Without the file nothing is configured: the default URL is not tried
    // because the key is missing first.
    std::fs::remove_file(cli.path(".env")).unwrap();
    let mut cmd = cli.command(&["rooms"]);
    cmd.env_remove("MEET_AI_URL");
    let err = run(cmd, None).error(3);
    assert!(err.contains("MEET_AI_KEY"), "{err}");
}

/// URL and key are a pair: a `.env` in the current directory cannot send a
/// key from the environment (or --key) to the server it names. Its URL is
/// ignored with a warning, and the default server is used instead (which
/// this offline test cannot reach: exit 6 naming it, not the .env's server).
#[tokio::test]
async fn a_dotenv_url_cannot_redirect_a_key_from_the_environment() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new("http://unused.invalid", Some(&key));
    // The .env names the reachable server: if it were used, `rooms` would work.
    write_file(&cli.path(".env"), &format!("MEET_AI_URL={}\n", base()));
    let unreachable_default = |run: Run| {
        assert_eq!(run.code, Some(6), "{run:?}");
        assert!(
            run.stderr.contains("ignoring MEET_AI_URL in .env"),
            "{run:?}"
        );
        assert!(
            run.stderr
                .contains("cannot reach the server at https://meet-ai.cc"),
            "{run:?}"
        );
    };
    let mut cmd = cli.command(&["rooms"]);
    cmd.env_remove("MEET_AI_URL");
    unreachable_default(run(cmd, None));
    // Same with the key on the command line.
    let mut cmd = cli.command(&["rooms", "--key", &key]);
    cmd.env_remove("MEET_AI_URL").env_remove("MEET_AI_KEY");
    unreachable_default(run(cmd, None));
    // A key in the same .env makes a pair: then its URL is used.
    write_file(
        &cli.path(".env"),
        &format!("MEET_AI_URL={}\nMEET_AI_KEY={key}\n", base()),
    );
    let mut cmd = cli.command(&["rooms"]);
    cmd.env_remove("MEET_AI_URL").env_remove("MEET_AI_KEY");
    let out = run(cmd, None);
    assert_eq!(out.json()[0]["id"], json!(room.id));
    assert_eq!(out.stderr, "");
}

/// A key never goes over plain http:// to a host that is not loopback unless
/// asked: exit 12 before any request. (The host is under `.invalid`, so when
/// allowed the request fails at DNS: exit 6, no traffic leaves the machine.)
#[tokio::test]
async fn plain_http_to_another_host_is_refused_unless_allowed() {
    let remote = "http://meet-ai.invalid";
    let cli = Cli::new(remote, Some(UNKNOWN_KEY));
    let err = cli.run(&["rooms"]).error(12);
    assert!(
        err.starts_with("refusing to send a key over plain http:// to http://meet-ai.invalid"),
        "{err}"
    );
    assert!(err.contains("--insecure-http"), "{err}");
    // generate-key too: the new key would come back in clear.
    let anonymous = Cli::new(remote, None);
    anonymous.run(&["generate-key"]).error(12);
    // Allowed by the flag or the variable: the request is attempted.
    assert_eq!(cli.run(&["rooms", "--insecure-http"]).code, Some(6));
    let mut cmd = cli.command(&["rooms"]);
    cmd.env("MEET_AI_ALLOW_HTTP", "1");
    assert_eq!(run(cmd, None).code, Some(6));
    // Loopback over http is fine (every other test here relies on it), and
    // without a key nothing secret travels: the missing key is the error.
    assert_eq!(anonymous.run(&["rooms"]).code, Some(3));
}

#[tokio::test]
async fn bad_key_unknown_room_and_unreachable_server_each_have_their_exit_code() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));

    // Bad or missing key: 3.
    let bad = Cli::new(&base(), Some(UNKNOWN_KEY));
    assert_eq!(bad.run(&["rooms"]).error(3), "invalid or revoked API key");
    assert_eq!(
        bad.run(&["send-message", &room.id, "me", "hi"]).error(3),
        "invalid or revoked API key"
    );
    assert_eq!(
        bad.run(&["listen", &room.id]).error(3),
        "invalid or revoked API key"
    );
    let malformed = Cli::new(&base(), Some("not-a-key"));
    assert!(malformed.run(&["rooms"]).error(3).contains("malformed"));
    let missing = Cli::new(&base(), None);
    assert!(missing
        .run(&["create-room", "x"])
        .error(3)
        .contains("MEET_AI_KEY"));

    // Unknown room: 4.
    for args in [
        vec!["send-message", UNKNOWN_ROOM, "me", "hi"],
        vec!["poll", UNKNOWN_ROOM],
        vec!["listen", UNKNOWN_ROOM],
    ] {
        assert_eq!(cli.run(&args).error(4), "room not found", "{args:?}");
    }
    // A cursor that is not in the room is "not found" too.
    assert_eq!(
        cli.run(&["listen", &room.id, "--after", UNKNOWN_ROOM])
            .error(4),
        "the cursor message is not in this room"
    );

    // Unreachable server (a closed port): 6.
    let down_url = format!("http://127.0.0.1:{}", closed_port());
    let down = Cli::new(&down_url, Some(&key));
    for args in [
        vec!["rooms"],
        vec!["generate-key"],
        vec!["send-message", &room.id, "me", "hi", "--retries", "0"],
        vec!["poll", &room.id],
        vec!["listen", &room.id],
    ] {
        let err = down.run(&args).error(6);
        assert!(
            err.starts_with(&format!("cannot reach the server at {down_url}")),
            "{args:?}: {err}"
        );
    }

    // A request the server refuses as malformed: 1, with its sentence.
    assert_eq!(
        cli.run(&["send-message", &room.id, "me", "   "]).error(1),
        "content must not be empty"
    );
    assert_eq!(
        cli.run(&["poll", &room.id, "--after", "nope"]).error(1),
        "after is not a valid message id"
    );

    // Usage errors: clap's 2, pointing at --help.
    for args in [
        vec!["send-message", room.id.as_str()],
        vec!["send-message", &room.id, "me", "--color", "blue", "hi"],
        vec!["listen", &room.id, "--count", "0"],
        vec!["frobnicate"],
    ] {
        let run = cli.run(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "");
        assert!(run.stderr.starts_with("error: "), "{run:?}");
        assert!(run.stderr.contains("--help"), "{run:?}");
    }

    // None of that stored anything.
    assert!(api().history(&key, &room.id, "").await.is_empty());
}

#[tokio::test]
async fn multi_line_content_survives_file_and_stdin_byte_for_byte() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let content = "Here is the fix (é, 🦀):\n\n```rust\nfn main() {\n\tlet s = \"a  b\";\n    println!(\"{s}\");\n}\n```\n\n- trailing spaces stay   \n- and a CRLF line\r\nend\n";
    write_file(&cli.path("reply.md"), content);

    let from_file = cli
        .run(&["send-message", &room.id, "claude", "--file", "reply.md"])
        .json();
    assert_eq!(from_file["content"], json!(content));
    let from_stdin = cli
        .run_with_stdin(
            &["send-message", &room.id, "claude", "-"],
            content.as_bytes(),
        )
        .json();
    assert_eq!(from_stdin["content"], json!(content));

    let history = api().history(&key, &room.id, "").await;
    let stored: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(stored, vec![content, content]);

    let err = cli
        .run(&["send-message", &room.id, "claude", "--file", "missing.md"])
        .error(1);
    assert!(err.starts_with("cannot read missing.md"), "{err}");
}

#[tokio::test]
async fn a_reused_idempotency_key_never_posts_twice() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let args = [
        "send-message",
        room.id.as_str(),
        "me",
        "--idempotency-key",
        "retry-1",
        "only",
        "once",
    ];
    let first = cli.run(&args).json();
    let again = cli.run(&args).json();
    assert_eq!(again, first);
    // Same key, other content: refused (exit 10, the server's sentence), and
    // still one message: the second text was not stored.
    let err = cli
        .run(&[
            "send-message",
            &room.id,
            "me",
            "--idempotency-key",
            "retry-1",
            "changed",
        ])
        .error(10);
    assert!(err.contains("Idempotency-Key"), "{err}");
    let history = api().history(&key, &room.id, "").await;
    assert_eq!(serde_json::to_value(&history).unwrap(), json!([first]));
}

#[tokio::test]
async fn a_rate_limit_exits_5_with_the_servers_sentence() {
    let key = api().new_key().await;
    let cli = Cli::new(&base(), Some(&key));
    for i in 0..5 {
        cli.run(&["create-room", &format!("room {i}")]).json();
    }
    let err = cli.run(&["create-room", "one too many"]).error(5);
    assert!(
        err.starts_with("room creation is limited to 5 per day per key (retry after "),
        "{err}"
    );
    let rooms = cli.run(&["rooms"]).json();
    assert_eq!(rooms.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn revoke_key_ends_the_key() {
    let key = api().new_key().await;
    let cli = Cli::new(&base(), Some(&key));
    assert_eq!(
        cli.run(&["revoke-key"]).json(),
        json!({ "revoked": true, "prefix": &key[..8] })
    );
    assert_eq!(cli.run(&["rooms"]).error(3), "invalid or revoked API key");
    assert_eq!(
        cli.run(&["revoke-key"]).error(3),
        "invalid or revoked API key"
    );
}

#[test]
fn help_explains_every_command_with_examples() {
    let cli = Cli::new("http://127.0.0.1:9", None);
    let main = cli.run(&["--help"]);
    assert_eq!(main.code, Some(0), "{main:?}");
    for needle in ["Examples:", "Exit codes:", "MEET_AI_URL", "MEET_AI_KEY"] {
        assert!(main.stdout.contains(needle), "{needle}: {}", main.stdout);
    }
    for sub in [
        "generate-key",
        "revoke-key",
        "rooms",
        "create-room",
        "send-message",
        "poll",
        "listen",
        "wait",
        "inbox",
        "read",
        "members",
        "invite",
        "remove-member",
        "reissue-token",
        "whoami",
    ] {
        assert!(main.stdout.contains(sub), "{sub} in main help");
        let help = cli.run(&[sub, "--help"]);
        assert_eq!(help.code, Some(0), "{help:?}");
        assert!(help.stdout.contains("Examples:"), "{sub}: {}", help.stdout);
        assert!(
            help.stdout.contains(&format!("meet-ai {sub}")),
            "{sub}: {}",
            help.stdout
        );
    }
    let version = cli.run(&["--version"]);
    assert_eq!(version.code, Some(0));
    assert!(version.stdout.starts_with("meet-ai "), "{version:?}");
}

/// On a terminal the output is text; --json brings the JSON back. Runs the
/// CLI under `script` (util-linux) for a pseudo-terminal, when it exists.
#[tokio::test]
async fn a_terminal_gets_text_unless_json_is_asked_for() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` for a pseudo-terminal");
        return;
    }
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let in_tty = |args: &str| {
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", cli.dir.path())
            .env("MEET_AI_URL", &cli.url)
            .env("MEET_AI_KEY", &key)
            .current_dir(cli.dir.path());
        let out = run(script, None);
        assert_eq!(out.code, Some(0), "{out:?}");
        out.stdout.replace("\r\n", "\n")
    };
    let text = in_tty(&format!("send-message {} claude hello there", room.id));
    assert!(
        text.starts_with("Sent as claude (agent): message "),
        "{text:?}"
    );
    let text = in_tty(&format!("poll {}", room.id));
    assert!(
        text.trim_end().ends_with("] claude [agent]: hello there"),
        "{text:?}"
    );
    let json_text = in_tty(&format!("poll {} --json", room.id));
    let parsed: Value = serde_json::from_str(json_text.trim()).expect("JSON on a tty with --json");
    assert_eq!(parsed[0]["content"], "hello there");

    // A poster's escape sequences never reach the terminal: retitle (OSC 0),
    // clipboard write (OSC 52), colour and line erase (CSI), carriage
    // return, 8-bit CSI, a bidi override. The JSON keeps them exactly.
    let nasty = "a\u{1b}]0;pwned\u{7}b\u{1b}]52;c;cm0gLXJm\u{1b}\\c\u{1b}[31m\u{1b}[2Kd\re\u{9b}1Af\u{202e}g";
    api().send(&key, &room.id, "mallory", nasty).await;
    let text = in_tty(&format!("poll {}", room.id));
    assert!(text.trim_end().ends_with("] mallory: abcdefg"), "{text:?}");
    assert!(!text.contains(['\u{1b}', '\u{9b}', '\u{202e}']), "{text:?}");
    let piped = cli.run(&["poll", &room.id]).json();
    assert_eq!(piped[1]["content"], nasty);
    let json_text = in_tty(&format!("poll {} --json", room.id));
    let parsed: Value = serde_json::from_str(json_text.trim()).expect("JSON on a tty with --json");
    assert_eq!(parsed[1]["content"], nasty);
}
