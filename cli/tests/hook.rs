//! Black-box tests of `meet-ai hook decide` and `setup-hooks` with the
//! built binary against a scripted HTTP server (no Worker needed): the
//! process side of the hook contract (stdin in, exactly one line or nothing
//! out, always exit 0; cancel on expiry and on SIGTERM). The same flows
//! against the real Worker are in cli/tests/decide.rs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const AGENT_TOKEN: &str = "mem_AAAAAAAAAAAAAAAAAAAAAAAA";
const ROOM: &str = "11c77f20-0000-4000-8000-000000000001";

/// One request the mock saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

type Script = dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync;

/// A tiny HTTP/1.1 server answering each request with `script(request,
/// how many requests to that path came before)`.
struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    fn start(script: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &log, &*script));
            }
        });
        Mock { url, seen }
    }

    fn requests(&self, method: &str, path_end: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.method == method && s.path.split('?').next().unwrap().ends_with(path_end))
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Seen>>, script: &Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let seen = Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let before = {
        let mut log = log.lock().unwrap();
        let n = log
            .iter()
            .filter(|s| s.method == seen.method && s.path == seen.path)
            .count();
        log.push(seen.clone());
        n
    };
    let (status, body) = script(&seen, before);
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        409 => "Conflict",
        _ => "Error",
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/hooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn decision(status: &str, extra: Value) -> String {
    let mut d = json!({"id": "d1", "room_id": ROOM, "status": status, "requester": "claude",
                       "requester_verified": true, "expires_at": "2099-01-01T00:00:00Z"});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d.to_string()
}

fn hook_cli(url: &str) -> (Cli, Vec<&'static str>) {
    (Cli::new(url, Some(AGENT_TOKEN)), vec!["hook", "decide"])
}

fn decide(mock: &Mock, input: &Value, extra_args: &[&str]) -> Run {
    let (cli, mut args) = hook_cli(&mock.url);
    args.extend_from_slice(extra_args);
    let mut cmd = cli.command(&args);
    cmd.env("MEET_AI_ROOM", ROOM);
    run(cmd, Some(input.to_string().as_bytes()))
}

#[test]
fn an_allow_prints_exactly_claude_codes_allow_with_the_input_echoed() {
    let fx = fixture("bash");
    let mock = Mock::start(|req, n| match (req.method.as_str(), n) {
        ("POST", _) => (201, decision("pending", json!({}))),
        ("GET", 0) => (204, String::new()),
        _ => (
            200,
            decision("allowed", json!({"outcome": "allow", "decided_by": "ada"})),
        ),
    });
    let run = decide(&mock, &fx["input"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out, fx["cases"][0]["output"]);
    let posts = mock.requests("POST", "/decisions");
    assert_eq!(posts.len(), 1);
    let body: Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(body, fx["request"]);
    let key = posts[0]
        .headers
        .iter()
        .find(|(k, _)| k == "idempotency-key");
    assert!(
        key.is_some_and(|(_, v)| v.starts_with("hook-")),
        "{posts:?}"
    );
    let auth = posts[0].headers.iter().find(|(k, _)| k == "authorization");
    assert_eq!(auth.unwrap().1, format!("Bearer {AGENT_TOKEN}"));
    assert!(mock.requests("POST", "/cancel").is_empty());
}

#[test]
fn answers_to_two_questions_come_back_as_claude_code_takes_them() {
    let fx = fixture("ask-user-question");
    let case = fx["cases"][0].clone();
    let answered = decision("answered", case["decision"].clone());
    let mock = Mock::start(move |req, _| match req.method.as_str() {
        "POST" => (201, decision("pending", json!({}))),
        _ => (200, answered.clone()),
    });
    let run = decide(&mock, &fx["input"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        case["output"]
    );
}

#[test]
fn a_network_error_while_waiting_is_retried() {
    let fx = fixture("bash");
    let mock = Mock::start(|req, n| match (req.method.as_str(), n) {
        ("POST", _) => (201, decision("pending", json!({}))),
        ("GET", 0) => (
            503,
            r#"{"error":"down for a moment","code":"internal"}"#.into(),
        ),
        _ => (
            200,
            decision("denied", json!({"outcome": "deny", "feedback": "Not now."})),
        ),
    });
    let run = decide(&mock, &fx["input"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        out["hookSpecificOutput"]["decision"],
        json!({"behavior": "deny", "message": "Not now."})
    );
}

#[test]
fn an_expired_decision_prints_nothing_and_exits_0() {
    let fx = fixture("bash");
    let mock = Mock::start(|req, _| match req.method.as_str() {
        "POST" => (201, decision("pending", json!({}))),
        _ => (200, decision("expired", json!({}))),
    });
    let run = decide(&mock, &fx["input"], &[]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
}

#[test]
fn past_its_expiry_the_hook_cancels_prints_nothing_and_exits_0() {
    let fx = fixture("bash");
    let mock = Mock::start(|req, _| match req.method.as_str() {
        "POST" if req.path.ends_with("/cancel") => (200, decision("cancelled", json!({}))),
        "POST" => (201, decision("pending", json!({}))),
        // The server keeps saying "pending" (a clock far behind): the hook's own deadline ends it.
        _ => (200, decision("pending", json!({}))),
    });
    let started = std::time::Instant::now();
    let run = decide(&mock, &fx["input"], &["--expires-in", "1"]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(mock.requests("POST", "/cancel").len(), 1);
}

#[test]
fn sigterm_while_waiting_cancels_prints_nothing_and_exits_0() {
    let fx = fixture("exit-plan-mode");
    let mock = Mock::start(|req, _| match req.method.as_str() {
        "POST" if req.path.ends_with("/cancel") => (200, decision("cancelled", json!({}))),
        "POST" => (201, decision("pending", json!({}))),
        _ => {
            std::thread::sleep(Duration::from_secs(2));
            (204, String::new())
        }
    });
    let (cli, args) = hook_cli(&mock.url);
    let mut cmd = cli.command(&args);
    cmd.env("MEET_AI_ROOM", ROOM)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fx["input"].to_string().as_bytes())
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while mock.requests("GET", "/wait").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the hook never waited"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(child.id(), libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(mock.requests("POST", "/cancel").len(), 1);
}

#[test]
fn without_a_room_or_with_other_input_it_stays_silent() {
    let fx = fixture("bash");
    let mock = Mock::start(|_, _| (500, "{}".into()));
    let (cli, args) = hook_cli(&mock.url);
    // No MEET_AI_ROOM.
    let run = cli.run_with_stdin(&args, fx["input"].to_string().as_bytes());
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    assert!(run.stderr.contains("MEET_AI_ROOM"), "{run:?}");
    // Not a PermissionRequest; not JSON.
    let mut pre = fx["input"].clone();
    pre["hook_event_name"] = json!("PreToolUse");
    for input in [pre.to_string(), "garbage".to_owned()] {
        let mut cmd = cli.command(&args);
        cmd.env("MEET_AI_ROOM", ROOM);
        let run = common::run(cmd, Some(input.as_bytes()));
        assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    }
    // A .env in the working directory is not read by the hook.
    write_file(&cli.path(".env"), &format!("MEET_AI_ROOM={ROOM}\n"));
    let run = cli.run_with_stdin(&args, fx["input"].to_string().as_bytes());
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
    assert!(mock.seen.lock().unwrap().is_empty(), "no request was made");
}

#[test]
fn an_unreachable_server_prints_nothing_and_exits_0() {
    let fx = fixture("bash");
    let (cli, args) = hook_cli(&format!("http://127.0.0.1:{}", closed_port()));
    let mut cmd = cli.command(&args);
    cmd.env("MEET_AI_ROOM", ROOM);
    cmd.args(["--expires-in", "2"]);
    let run = run(cmd, Some(fx["input"].to_string().as_bytes()));
    assert_eq!((run.code, run.stdout.as_str()), (Some(0), ""), "{run:?}");
}

#[test]
fn setup_hooks_merges_into_the_settings_and_twice_changes_nothing() {
    let cli = Cli::new("http://127.0.0.1:9", None);
    let dir = cli.path(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let existing = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"say done\"}]}]\n  }\n}\n";
    write_file(&dir.join("settings.json"), existing);
    let first = cli.run(&["setup-hooks", "--project"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    let text = std::fs::read_to_string(dir.join("settings.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model"], "opus");
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
    assert_eq!(
        v["hooks"]["PermissionRequest"],
        json!([{"matcher": "*", "hooks": [{"type": "command", "command": "meet-ai hook decide", "timeout": 360}]}])
    );
    let second = cli.run(&["setup-hooks", "--project"]);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(second.stdout.contains("nothing changed"), "{second:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("settings.json")).unwrap(),
        text
    );
    // Without --project: ~/.claude/settings.json (HOME is the test's directory too).
    let home = cli.run(&["setup-hooks"]);
    assert_eq!(home.code, Some(0), "{home:?}");
    // A broken file is left alone.
    write_file(&dir.join("settings.json"), "{ nope");
    let broken = cli.run(&["setup-hooks", "--project"]);
    assert_eq!(broken.code, Some(1), "{broken:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("settings.json")).unwrap(),
        "{ nope"
    );
}
