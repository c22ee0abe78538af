//! Where the server and the key come from: `--url`/`--key`, then the
//! environment, then a `.env` file in the current directory, then defaults.

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

/// Resolves the configuration. `env` is the process environment, `dotenv`
/// the `.env` file's variables; empty values count as unset.
pub fn resolve(
    url_flag: Option<&str>,
    key_flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    dotenv: &HashMap<String, String>,
) -> Result<Config> {
    let set = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let pick = |flag: Option<&str>, var: &str| -> Option<String> {
        set(flag.map(str::to_owned))
            .or_else(|| set(env(var)))
            .or_else(|| set(dotenv.get(var).cloned()))
    };
    let url = pick(url_flag, URL_VAR).unwrap_or_else(|| DEFAULT_URL.to_owned());
    let url = normalize_url(&url)?;
    Ok(Config {
        url,
        key: pick(key_flag, KEY_VAR),
    })
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
