//! Running the built `meet-ai` binary hermetically: a cleared environment
//! (PATH and HOME only, plus what a test sets), a fresh temporary current
//! directory (so no stray .env is read), bounded waits, and a child that is
//! killed if a test fails before it exits.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_meet-ai");

/// A well-formed key no server ever issued.
pub const UNKNOWN_KEY: &str = "mai_AAAAAAAAAAAAAAAAAAAAAAAA";
pub const UNKNOWN_ROOM: &str = "00000000-0000-4000-8000-000000000000";

/// The transport `listen` picks by itself on the variant under test: the
/// paid one announces WebSocket, the free one only streams SSE.
pub fn auto_transport() -> &'static str {
    if meet_ai_e2e::paid_variant() {
        "ws"
    } else {
        "sse"
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The CLI's view of a server: URL and key, and a private working directory.
pub struct Cli {
    pub url: String,
    pub key: Option<String>,
    pub dir: tempfile::TempDir,
}

impl Cli {
    pub fn new(url: &str, key: Option<&str>) -> Cli {
        Cli {
            url: url.to_owned(),
            key: key.map(str::to_owned),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `meet-ai <args>` with only PATH, HOME, MEET_AI_URL and MEET_AI_KEY set.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("MEET_AI_URL", &self.url)
            .current_dir(self.dir.path());
        if let Some(key) = &self.key {
            cmd.env("MEET_AI_KEY", key);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command(args), None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        run(self.command(args), Some(stdin))
    }

    /// Starts a long-running command (listen) with its output readable line
    /// by line.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        Spawned::start(self.command(args))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and parses stdout as one JSON value.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, Some(0), "{self:?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {self:?}"))
    }

    /// Asserts a failure with `code`, nothing on stdout, and exactly one
    /// `meet-ai: error: ...` line on stderr; returns that line's text.
    pub fn error(&self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:?}");
        let text = lines[0]
            .strip_prefix("meet-ai: error: ")
            .unwrap_or_else(|| panic!("stderr is not an error line: {self:?}"));
        assert!(!text.trim().is_empty());
        text.to_owned()
    }
}

/// Runs a command to completion (killed after 120 s).
pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn meet-ai");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("wait for meet-ai"),
        Err(_) => {
            kill(pid, libc::SIGKILL);
            panic!("meet-ai did not finish within 120 s");
        }
    };
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

pub fn kill(pid: u32, signal: i32) {
    // SAFETY: signalling a child process this test started.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// A running `meet-ai` whose stdout and stderr lines arrive on channels.
pub struct Spawned {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stderr line seen so far.
    pub stderr_seen: Vec<String>,
}

fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            match line {
                Ok(line) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    rx
}

impl Spawned {
    fn start(cmd: Command) -> Spawned {
        Spawned::start_with(cmd, true)
    }

    /// `keep_stdout: false` closes the read end of its stdout at once, as
    /// `| head -0` would: its first write fails with EPIPE.
    pub fn start_with(mut cmd: Command, keep_stdout: bool) -> Spawned {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn meet-ai");
        let pipe = child.stdout.take().unwrap();
        let stdout = if keep_stdout {
            lines_of(pipe)
        } else {
            drop(pipe);
            mpsc::channel().1
        };
        let stderr = lines_of(child.stderr.take().unwrap());
        Spawned {
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line, or None after `within`.
    pub fn line(&mut self, within: Duration) -> Option<String> {
        self.stdout.recv_timeout(within).ok()
    }

    /// The next stdout line as JSON; panics (with stderr) if none comes.
    pub fn message(&mut self, within: Duration) -> Value {
        match self.line(within) {
            Some(line) => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
            None => {
                self.drain_stderr();
                panic!(
                    "no message on stdout within {within:?}; stderr: {:#?}",
                    self.stderr_seen
                )
            }
        }
    }

    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
    }

    /// Waits for a stderr lifecycle line with `"event": name`; returns it.
    pub fn event(&mut self, name: &str, within: Duration) -> Value {
        self.event_where(name, |_| true, within)
    }

    /// Waits for a lifecycle event `name` that also satisfies `pred`,
    /// skipping others.
    pub fn event_where(
        &mut self,
        name: &str,
        pred: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if v["event"] == name && pred(&v) {
                            return v;
                        }
                    }
                }
                Err(_) => panic!(
                    "no {name:?} event on stderr within {within:?}; stderr: {:#?}",
                    self.stderr_seen
                ),
            }
        }
    }

    /// Waits for the process to exit; then collects the rest of its output.
    pub fn wait(&mut self, within: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let mut rest = Vec::new();
                while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
                    rest.push(line);
                }
                while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
                    self.stderr_seen.push(line);
                }
                return (status, rest);
            }
            if Instant::now() > deadline {
                self.drain_stderr();
                panic!(
                    "meet-ai still running after {within:?}; stderr: {:#?}",
                    self.stderr_seen
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, signal: i32) {
        kill(self.pid(), signal);
    }

    /// The stderr lines that parsed as lifecycle events, by name.
    pub fn events_seen(&self) -> Vec<String> {
        self.stderr_seen
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["event"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write file");
}
