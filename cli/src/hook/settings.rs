//! `setup-hooks`: merging the `PermissionRequest` hook into Claude Code's
//! settings.json, as a pure function of the file's JSON. Everything already
//! there stays as it is (key order too: [`Json`] keeps it); running it again
//! changes nothing.

use super::ordered::Json;

/// The command Claude Code runs; entries whose command starts with it are
/// ours (updated in place, never duplicated).
pub const HOOK_COMMAND: &str = "meet-ai hook decide";
/// The decision's default lifetime, seconds (the server's default too).
pub const DEFAULT_EXPIRES_IN: u64 = 300;
/// How much longer Claude Code lets the hook run than the decision lives,
/// so the hook always cancels and exits by itself first.
pub const TIMEOUT_MARGIN: u64 = 60;

/// The command line for a decision lifetime.
pub fn command_for(expires_in: u64) -> String {
    if expires_in == DEFAULT_EXPIRES_IN {
        HOOK_COMMAND.to_owned()
    } else {
        format!("{HOOK_COMMAND} --expires-in {expires_in}")
    }
}

/// The hook entry for `hooks.PermissionRequest`.
pub fn entry(expires_in: u64) -> Json {
    let text = |s: &str| Json::String(s.to_owned());
    Json::Object(vec![
        ("matcher".into(), text("*")),
        (
            "hooks".into(),
            Json::Array(vec![Json::Object(vec![
                ("type".into(), text("command")),
                ("command".into(), Json::String(command_for(expires_in))),
                (
                    "timeout".into(),
                    Json::Number((expires_in + TIMEOUT_MARGIN).into()),
                ),
            ])]),
        ),
    ])
}

/// The settings with our hook in, and whether anything changed. A file
/// whose shape is not Claude Code's (settings, `hooks` or
/// `hooks.PermissionRequest` of another type) is refused, not overwritten.
pub fn merge(settings: Json, expires_in: u64) -> Result<(Json, bool), String> {
    let mut settings = match settings {
        Json::Null => Json::Object(Vec::new()),
        obj @ Json::Object(_) => obj,
        _ => return Err("the settings file is not a JSON object".into()),
    };
    let hooks = settings
        .entry("hooks", || Json::Object(Vec::new()))
        .filter(|h| matches!(h, Json::Object(_)))
        .ok_or("\"hooks\" in the settings file is not an object")?;
    let Some(Json::Array(list)) = hooks.entry("PermissionRequest", || Json::Array(Vec::new()))
    else {
        return Err("\"hooks.PermissionRequest\" in the settings file is not a list".into());
    };
    let wanted = entry(expires_in);
    let changed = match list.iter_mut().find(|e| is_ours(e)) {
        Some(existing) if *existing == wanted => false,
        Some(existing) => {
            *existing = wanted;
            true
        }
        None => {
            list.push(wanted);
            true
        }
    };
    Ok((settings, changed))
}

/// An entry with a command hook running `meet-ai hook decide`.
fn is_ours(entry: &Json) -> bool {
    let Some(Json::Array(hooks)) = entry.get("hooks") else {
        return false;
    };
    hooks.iter().any(|h| {
        matches!(h.get("command"), Some(Json::String(c)) if c.trim_start().starts_with(HOOK_COMMAND))
    })
}

/// The file's text: two-space JSON and a final newline, like Claude Code's.
pub fn render(settings: &Json) -> String {
    let mut text = serde_json::to_string_pretty(settings).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// Reads the settings text: empty or missing is `{}`.
pub fn parse(text: Option<&str>) -> Result<Json, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(Json::Object(Vec::new())),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("the settings file is not valid JSON ({e}); fix it first")),
    }
}
