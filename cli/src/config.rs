//! Where the server and the key come from: `--url`/`--key`, then the
//! environment, then a `.env` file in the current directory, then defaults;
//! the URL never from a less explicit place than the key (see [`resolve`]).
//! And whether the key may travel over the chosen URL at all.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{CliError, Result};

pub const DEFAULT_URL: &str = "https://meet-ai.cc";
pub const URL_VAR: &str = "MEET_AI_URL";
pub const KEY_VAR: &str = "MEET_AI_KEY";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base URL without a trailing slash.
    pub url: String,
    pub key: Option<String>,
}

/// Reads `.env` in `dir`, if there is one. A file that cannot be parsed is
/// reported on stderr and ignored: it may belong to another tool.
pub fn read_dotenv(dir: &Path) -> HashMap<String, String> {
    let path = dir.join(".env");
    if !path.exists() {
        return HashMap::new();
    }
    let mut vars = HashMap::new();
    match dotenvy::from_path_iter(&path) {
        Ok(iter) => {
            for item in iter {
                match item {
                    Ok((k, v)) => {
                        vars.insert(k, v);
                    }
                    Err(e) => {
                        eprintln!("meet-ai: warning: skipping the rest of .env: {e}");
                        break;
                    }
                }
            }
        }
        Err(e) => eprintln!("meet-ai: warning: cannot read .env: {e}"),
    }
    vars
}

/// Where a setting came from, most explicit first. The order is the trust
/// order: a flag is typed by whoever runs the command, the environment is
/// theirs too, but a `.env` belongs to whatever directory they stand in
/// (possibly someone else's checkout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Flag,
    Env,
    DotEnv,
}

/// Resolves the configuration. `env` is the process environment, `dotenv`
/// the `.env` file's variables; empty values count as unset.
///
/// The rule (docs/CLI.md, Configuration): the key is taken from the first
/// place that has one (flag, environment, `.env`); the URL from the first
/// place that has one **and is no less explicit than the key's place**. So a
/// `.env` can never redirect a key that came from the environment or a flag:
/// its `MEET_AI_URL` is then ignored (with a warning on stderr).
pub fn resolve(
    url_flag: Option<&str>,
    key_flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    dotenv: &HashMap<String, String>,
) -> Result<Config> {
    let set = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let lookup = |flag: Option<&str>, var: &str, source: Source| -> Option<String> {
        match source {
            Source::Flag => set(flag.map(str::to_owned)),
            Source::Env => set(env(var)),
            Source::DotEnv => set(dotenv.get(var).cloned()),
        }
    };
    let sources = [Source::Flag, Source::Env, Source::DotEnv];
    let key = sources
        .iter()
        .find_map(|&s| lookup(key_flag, KEY_VAR, s).map(|k| (s, k)));
    // The least explicit place the URL may come from.
    let floor = key.as_ref().map_or(Source::DotEnv, |(s, _)| *s);
    let url = sources
        .iter()
        .filter(|&&s| s <= floor)
        .find_map(|&s| lookup(url_flag, URL_VAR, s));
    // Say so only when the .env's URL is what would have been used before.
    if url.is_none() && floor < Source::DotEnv && set(dotenv.get(URL_VAR).cloned()).is_some() {
        eprintln!(
            "meet-ai: warning: ignoring {URL_VAR} in .env: {KEY_VAR} comes from the {}, so \
             the URL must come from there too (or from --url); using {DEFAULT_URL}",
            if floor == Source::Flag {
                "command line"
            } else {
                "environment"
            }
        );
    }
    let url = normalize_url(url.as_deref().unwrap_or(DEFAULT_URL))?;
    Ok(Config {
        url,
        key: key.map(|(_, k)| k),
    })
}

/// Set to `1` to allow a key over plain `http://` to a host that is not
/// loopback (same as `--insecure-http`).
pub const ALLOW_HTTP_VAR: &str = "MEET_AI_ALLOW_HTTP";

/// Refuses to send a credential over plain `http://` to anything but this
/// machine: on any other network path it can be read and replayed. `https://`
/// and loopback (127.0.0.0/8, ::1, `localhost`) always pass.
pub fn check_transport(url: &str, credential: bool, allow_http: bool) -> Result<()> {
    if !credential || allow_http {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    if is_loopback_authority(rest) {
        return Ok(());
    }
    Err(CliError::insecure(format!(
        "refusing to send a key over plain http:// to {url}: use https://, or pass \
         --insecure-http (or set {ALLOW_HTTP_VAR}=1) if you really mean it"
    )))
}

/// Whether a URL (any scheme) points at this machine: loopback addresses
/// or `localhost`.
pub fn is_loopback(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(_, rest)| is_loopback_authority(rest))
}

/// Whether the host of `authority[/path]` (after `http://`) is loopback.
fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // No userinfo trick: `http://127.0.0.1@evil.example` goes to evil.example.
    let authority = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, _)) => h,
            None => return false,
        }
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Whether `MEET_AI_ALLOW_HTTP` says yes (`1`, `true`, `yes`).
pub fn allow_http_from_env(value: Option<String>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

fn normalize_url(raw: &str) -> Result<String> {
    let url = raw.trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CliError::other(format!(
            "the server URL must start with http:// or https:// (got {raw:?}; check MEET_AI_URL or --url)"
        )));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotenv(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flags_beat_environment_beats_dotenv_beats_default() {
        let file = dotenv(&[(URL_VAR, "http://file"), (KEY_VAR, "mai_file")]);
        let env = |v: &str| (v == URL_VAR).then(|| "http://env/".to_owned());
        let c = resolve(None, None, env, &file).unwrap();
        assert_eq!(c.url, "http://env");
        assert_eq!(c.key.as_deref(), Some("mai_file"));

        let c = resolve(Some("https://flag"), Some("mai_flag"), env, &file).unwrap();
        assert_eq!(c.url, "https://flag");
        assert_eq!(c.key.as_deref(), Some("mai_flag"));

        let c = resolve(None, None, |_| None, &HashMap::new()).unwrap();
        assert_eq!(c.url, DEFAULT_URL);
        assert_eq!(c.key, None);
    }

    #[test]
    fn a_dotenv_url_never_redirects_a_key_from_the_environment_or_a_flag() {
        let file = dotenv(&[(URL_VAR, "https://evil.example"), (KEY_VAR, "mai_file")]);
        // Key from the environment: .env's URL is ignored, the default used.
        let env = |v: &str| (v == KEY_VAR).then(|| "mai_env".to_owned());
        let c = resolve(None, None, env, &file).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            (DEFAULT_URL, Some("mai_env"))
        );
        // The environment's own URL still applies.
        let env = |v: &str| match v {
            KEY_VAR => Some("mai_env".to_owned()),
            _ => Some("http://127.0.0.1:9".to_owned()),
        };
        let c = resolve(None, None, env, &file).unwrap();
        assert_eq!(c.url, "http://127.0.0.1:9");
        // Key from --key: neither does .env's URL apply.
        let c = resolve(None, Some("mai_flag"), |_| None, &file).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            (DEFAULT_URL, Some("mai_flag"))
        );
        // --url always applies.
        let c = resolve(Some("https://flag"), None, env, &file).unwrap();
        assert_eq!(c.url, "https://flag");
        // Both from .env: a pair, used together.
        let c = resolve(None, None, |_| None, &file).unwrap();
        assert_eq!(
            (c.url.as_str(), c.key.as_deref()),
            ("https://evil.example", Some("mai_file"))
        );
        // No key anywhere: .env's URL is used (nothing secret travels).
        let only_url = dotenv(&[(URL_VAR, "https://other.example")]);
        let c = resolve(None, None, |_| None, &only_url).unwrap();
        assert_eq!((c.url.as_str(), c.key), ("https://other.example", None));
    }

    #[test]
    fn plain_http_carries_a_key_only_to_loopback_or_when_allowed() {
        for ok in [
            "https://meet-ai.cc",
            "http://127.0.0.1:8787",
            "http://127.1.2.3",
            "http://localhost:8787/x",
            "http://LOCALHOST.",
            "http://[::1]:8787",
        ] {
            assert!(check_transport(ok, true, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://meet-ai.cc",
            "http://10.0.0.1:8787",
            "http://127.0.0.1@evil.example",
            "http://localhost.evil.example",
            "http://[::2]:1",
            "http://[::1",
            "http://0.0.0.0:8787",
        ] {
            let err = check_transport(bad, true, false).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::INSECURE, "{bad}");
            assert!(err.message.contains("--insecure-http"), "{}", err.message);
            assert!(check_transport(bad, true, true).is_ok(), "{bad}");
            assert!(check_transport(bad, false, false).is_ok(), "{bad}");
        }
        assert!(allow_http_from_env(Some(" 1 ".into())));
        assert!(allow_http_from_env(Some("TRUE".into())));
        assert!(!allow_http_from_env(Some("0".into())));
        assert!(!allow_http_from_env(None));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let file = dotenv(&[(KEY_VAR, "mai_file")]);
        let env = |v: &str| (v == KEY_VAR).then(String::new);
        let c = resolve(None, None, env, &file).unwrap();
        assert_eq!(c.key.as_deref(), Some("mai_file"));
    }

    #[test]
    fn url_needs_a_scheme() {
        let err = resolve(Some("meet-ai.cc"), None, |_| None, &HashMap::new()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.message.contains("http://"), "{}", err.message);
    }

    #[test]
    fn reads_dotenv_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_dotenv(dir.path()).is_empty());
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nMEET_AI_KEY=mai_abc\nMEET_AI_URL=\"http://127.0.0.1:1\"\n",
        )
        .unwrap();
        let vars = read_dotenv(dir.path());
        assert_eq!(vars.get(KEY_VAR).map(String::as_str), Some("mai_abc"));
        assert_eq!(
            vars.get(URL_VAR).map(String::as_str),
            Some("http://127.0.0.1:1")
        );
    }
}
