//! The few things the Worker reads from a request's URL: its origin, its
//! authority (`host[:port]`) and its query parameters. The runtime hands us
//! an absolute, already-normalised URL, so splitting it is enough; parsing it
//! with the `url` crate linked ~12 KB (gzipped) of wasm for nothing more.

/// The URL up to the end of its authority: `https://host:port`. Empty if the
/// URL has no `scheme://`.
pub fn origin(url: &str) -> &str {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return "";
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

/// `host[:port]` as a browser's `Host` header would carry it: lower case,
/// without user info, and without the scheme's default port.
pub fn authority(url: &str) -> String {
    let origin = origin(url);
    let Some((scheme, rest)) = origin.split_once("://") else {
        return String::new();
    };
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => Some(":443"),
        "http" | "ws" => Some(":80"),
        _ => None,
    };
    let host_port = match default {
        Some(port) => host_port.strip_suffix(port).unwrap_or(host_port),
        None => host_port,
    };
    host_port.to_ascii_lowercase()
}

/// The first value of query parameter `name`, decoded as a form would be
/// (`+` is a space, `%XX` a byte).
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let url = url.split('#').next().unwrap_or(url);
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_authority() {
        let u = "https://Meet.Example:8443/api/rooms?x=1#f";
        assert_eq!(origin(u), "https://Meet.Example:8443");
        assert_eq!(authority(u), "meet.example:8443");
        assert_eq!(authority("https://a.example:443/"), "a.example");
        assert_eq!(authority("http://127.0.0.1:8787/api"), "127.0.0.1:8787");
        assert_eq!(authority("http://u:p@h.example/"), "h.example");
        assert_eq!(authority("http://[::1]:80/"), "[::1]");
        assert_eq!(origin("https://h.example?q"), "https://h.example");
        assert_eq!(authority("no-scheme"), "");
    }

    #[test]
    fn query_values_decode_like_a_form() {
        let u = "https://h/x?token=a%2Bb&after=m+1&after=m2&empty=#token=frag";
        assert_eq!(query_value(u, "token").as_deref(), Some("a+b"));
        assert_eq!(query_value(u, "after").as_deref(), Some("m 1"));
        assert_eq!(query_value(u, "empty").as_deref(), Some(""));
        assert_eq!(query_value(u, "missing"), None);
        assert_eq!(query_value("https://h/x", "token"), None);
        assert_eq!(query_value("https://h/x#?token=t", "token"), None);
    }
}
