//! Starting and stopping `wrangler dev`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

/// Process groups still running, killed at exit: libtest never drops statics.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();
static SEQ: AtomicU32 = AtomicU32::new(0);

extern "C" fn kill_all_groups() {
    if let Ok(groups) = GROUPS.lock() {
        for &pgid in groups.iter() {
            // SAFETY: kill(2) with a negative pid signals a process group we created.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

/// The repository root (where wrangler.toml lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `--var NAME:VALUE` overrides of wrangler.toml's `[vars]`.
    pub vars: Vec<(String, String)>,
    /// A wrangler environment (`--env`), e.g. the paid variant.
    pub env: Option<String>,
}

impl ServerOptions {
    /// Default options for the variant under test (`MEET_AI_E2E_ENV`).
    pub fn for_variant() -> ServerOptions {
        ServerOptions {
            env: paid_variant().then(|| "paid".to_owned()),
            ..ServerOptions::default()
        }
    }
}

/// Whether this run tests the paid (Durable Object) variant.
pub fn paid_variant() -> bool {
    std::env::var("MEET_AI_E2E_ENV").is_ok_and(|v| v == "paid")
}

pub struct Server {
    pub base: String,
    script: PathBuf,
    /// The paid variant's second script (its room objects): a private copy
    /// of wrangler.rooms.toml pointing at a private copy of build-rooms/.
    rooms_config: Option<PathBuf>,
    pub port: u16,
    pub state_dir: PathBuf,
    options: ServerOptions,
    child: Option<Child>,
    log: PathBuf,
}

/// Longest a test run may keep one server: it is killed after this even if
/// the test process itself was killed and could not clean up.
const SERVER_LIFETIME_SECS: u32 = 1800;

impl Server {
    /// A server for this test binary, started on first use and shared by its
    /// tests (each test makes its own keys, so tenants keep them apart). It
    /// runs the variant named by `MEET_AI_E2E_ENV` (`paid`), else the free one.
    pub fn shared() -> &'static Server {
        static SHARED: OnceLock<Server> = OnceLock::new();
        SHARED.get_or_init(|| Server::start(ServerOptions::for_variant()))
    }

    /// Starts a fresh server: new state folder, migrations applied, healthy.
    pub fn start(options: ServerOptions) -> Server {
        let root = repo_root();
        let build = if options.env.as_deref() == Some("paid") {
            "build-paid"
        } else {
            "build"
        };
        assert!(
            root.join(build).join("index.js").exists(),
            "{build}/index.js is missing: run `make build` / `make build-paid` (make test does) first"
        );
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let state_dir = root
            .join("target/e2e-state")
            .join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state_dir);
        std::fs::create_dir_all(&state_dir).expect("create state dir");
        let mut migrate = wrangler(&root);
        migrate
            .args([
                "d1",
                "migrations",
                "apply",
                "meet-ai",
                "--local",
                "--persist-to",
            ])
            .arg(&state_dir);
        if let Some(env) = &options.env {
            migrate.args(["--env", env]);
        }
        let out = migrate.output().expect("run wrangler d1 migrations apply");
        assert!(
            out.status.success(),
            "migrations failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Serve a private copy of the build: `wrangler dev` reloads (dropping
        // every open stream) when its script changes, and a rebuild elsewhere
        // must not pull the rug from under a running test.
        let script_dir = state_dir.with_extension("build");
        copy_dir(&root.join(build), &script_dir).expect("copy the build");
        let rooms_config = (build == "build-paid").then(|| private_rooms_config(&root, &state_dir));
        let mut server = Server {
            base: String::new(),
            script: script_dir.join("index.js"),
            rooms_config,
            port: free_port(),
            // Beside the state, not in it: tests scan the state folder.
            log: state_dir.with_extension("log"),
            state_dir,
            options,
            child: None,
        };
        server.spawn(true);
        server
    }

    /// Starts wrangler and waits until it is healthy. workerd sometimes fails
    /// to start (a port taken between our probe and its bind, on a busy
    /// machine): that is retried, on fresh ports when `may_move`.
    fn spawn(&mut self, may_move: bool) {
        const ATTEMPTS: u32 = 3;
        for attempt in 1..=ATTEMPTS {
            self.launch();
            match self.wait_healthy(Duration::from_secs(90)) {
                Ok(()) => return,
                Err(Failure::Exited(why)) if attempt < ATTEMPTS => {
                    eprintln!("wrangler dev failed to start (attempt {attempt}), retrying: {why}");
                    self.stop();
                    std::thread::sleep(Duration::from_secs(1));
                    if may_move {
                        self.port = free_port();
                    }
                }
                Err(Failure::Exited(why) | Failure::TimedOut(why)) => {
                    self.stop();
                    panic!("{why}:\n{}", self.log());
                }
            }
        }
    }

    fn launch(&mut self) {
        use std::os::unix::process::CommandExt;
        ATEXIT.call_once(|| {
            // SAFETY: registering a plain extern "C" fn with no captured state.
            unsafe {
                libc::atexit(kill_all_groups);
            }
        });
        let root = repo_root();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open wrangler log");
        let mut cmd = Command::new("timeout");
        cmd.args(["--kill-after=5", &SERVER_LIFETIME_SECS.to_string()])
            .arg(root.join("node_modules/.bin/wrangler"))
            .arg("dev")
            .arg(&self.script);
        // The paid variant is two scripts in one `wrangler dev`: the Worker
        // (first, serving the port) and its room objects.
        if let Some(rooms) = &self.rooms_config {
            cmd.arg("-c")
                .arg(root.join("wrangler.toml"))
                .arg("-c")
                .arg(rooms);
        }
        cmd.args(["--local", "--ip", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--persist-to")
            .arg(&self.state_dir)
            .args([
                "--show-interactive-dev-session=false",
                "--log-level",
                "warn",
            ]);
        // The DevTools inspector costs CPU on every request and needs a port
        // of its own; tests need neither.
        cmd.args(["--inspector-port", &free_port().to_string()]);
        if let Some(env) = &self.options.env {
            cmd.args(["--env", env]);
        }
        // `GET /__scheduled` runs the Worker's Cron Trigger (the retention
        // purge); a route no test of anything else calls.
        cmd.arg("--test-scheduled");
        for (k, v) in &self.options.vars {
            cmd.arg("--var").arg(format!("{k}:{v}"));
        }
        cmd.current_dir(&root)
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().expect("spawn wrangler dev");
        GROUPS.lock().expect("groups lock").push(child.id() as i32);
        self.child = Some(child);
        self.base = format!("http://127.0.0.1:{}", self.port);
    }

    fn wait_healthy(&mut self, within: Duration) -> Result<(), Failure> {
        let deadline = Instant::now() + within;
        let url = format!("{}/api/health", self.base);
        loop {
            if let Ok(body) = blocking_get(&url) {
                if body.contains("\"ok\":true") {
                    return Ok(());
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Failure::Exited(format!(
                        "wrangler dev exited ({status}) before it was healthy"
                    )));
                }
            }
            if Instant::now() > deadline {
                return Err(Failure::TimedOut(format!(
                    "wrangler dev not healthy within {within:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops the server's whole process group (wrangler, workerd, timeout).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id() as i32;
        // SAFETY: signalling the process group we created for this child.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; whatever survived SIGTERM goes now.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = child.wait();
        if let Ok(mut groups) = GROUPS.lock() {
            groups.retain(|&g| g != pgid);
        }
        // Wait until the port is free again, so a restart can take it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(("127.0.0.1", self.port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Restarts on the same state with one more `--var NAME:VALUE`.
    pub fn restart_with_var(&mut self, name: &str, value: &str) {
        self.options.vars.push((name.to_owned(), value.to_owned()));
        self.restart();
    }

    /// Stops and starts the server on the same port with the same state.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(false);
    }

    /// Starts a stopped server again (same port, same state).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn(false);
        }
    }

    /// What wrangler printed so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

enum Failure {
    Exited(String),
    TimedOut(String),
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private copy of build-rooms/ and a wrangler.rooms.toml serving it,
/// beside `state_dir` (scripts/private-rooms.sh, which every test server of
/// the paid variant uses), for the same reason the Worker's build is copied.
fn private_rooms_config(root: &Path, state_dir: &Path) -> PathBuf {
    let dest = state_dir.with_extension("rooms");
    let out = Command::new(root.join("scripts/private-rooms.sh"))
        .arg(&dest)
        .output()
        .expect("run scripts/private-rooms.sh");
    assert!(
        out.status.success(),
        "scripts/private-rooms.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn wrangler(root: &Path) -> Command {
    let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
    cmd.current_dir(root)
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(Stdio::null());
    cmd
}

/// A minimal blocking GET over loopback for the health probe, so starting a
/// server needs no async runtime (tests may call it from inside one).
fn blocking_get(url: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    Ok(body)
}
