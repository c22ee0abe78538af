//! `setup-hooks`: merging the `PermissionRequest` hook into Claude Code's
//! settings.json, as a pure function of the file's JSON. Everything already
//! there stays as it is (key order too: serde_json's `preserve_order`);
//! running it again changes nothing.

use serde_json::{json, Map, Value};

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
pub fn entry(expires_in: u64) -> Value {
    json!({
        "matcher": "*",
        "hooks": [{
            "type": "command",
            "command": command_for(expires_in),
            "timeout": expires_in + TIMEOUT_MARGIN,
        }]
    })
}

/// The settings with our hook in, and whether anything changed. A file
/// whose shape is not Claude Code's (settings, `hooks` or
/// `hooks.PermissionRequest` of another type) is refused, not overwritten.
pub fn merge(settings: Value, expires_in: u64) -> Result<(Value, bool), String> {
    let mut settings = match settings {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => return Err("the settings file is not a JSON object".into()),
    };
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("\"hooks\" in the settings file is not an object")?;
    let list = hooks
        .entry("PermissionRequest")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or("\"hooks.PermissionRequest\" in the settings file is not a list")?;
    let wanted = entry(expires_in);
    let ours = list.iter_mut().find(|e| is_ours(e));
    let changed = match ours {
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
    Ok((Value::Object(settings), changed))
}

/// An entry with a command hook running `meet-ai hook decide`.
fn is_ours(entry: &Value) -> bool {
    entry
        .get("hooks")
        .and_then(Value::as_array)
        .is_some_and(|hooks| {
            hooks.iter().any(|h| {
                h.get("command")
                    .and_then(Value::as_str)
                    .is_some_and(|c| c.trim_start().starts_with(HOOK_COMMAND))
            })
        })
}

/// The file's text: two-space JSON and a final newline, like Claude Code's.
pub fn render(settings: &Value) -> String {
    let mut text = serde_json::to_string_pretty(settings).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// Reads the settings text: empty or missing is `{}`.
pub fn parse(text: Option<&str>) -> Result<Value, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(Value::Object(Map::new())),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("the settings file is not valid JSON ({e}); fix it first")),
    }
}
