//! Mentions: which `@names` a message's text addresses.
//!
//! The parser only finds *candidates*; the server keeps those that the room
//! knows (a member's handle, a recent sender, or `all`) when it stores the
//! message, inside the same INSERT, so a send stays one round trip.
//!
//! Rules, in the order they apply:
//! - text inside fenced code blocks (```` ``` ```` or `~~~`) and inline code
//!   spans (`` `…` ``) is skipped, so pasted code (`@Override`) wakes nobody;
//! - `@` starts a mention only at a word boundary: at the start of the text
//!   or after a character that is not a letter, digit or `_` (so the `@` in
//!   `ada@example.com` does not);
//! - the name is the run of letters, digits, `_`, `.` and `-` after it, less
//!   any trailing `.` or `-` (so `@ada.` at the end of a sentence is `ada`);
//! - names compare case-insensitively; each is kept once, as first written.

/// The name that mentions everyone in the room.
pub const ALL: &str = "all";

/// At most this many candidates per message: bounds the work of resolving them.
pub const MAX_CANDIDATES: usize = 20;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '-'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `@names` in `content` outside code, deduplicated case-insensitively,
/// in order of first appearance, at most [`MAX_CANDIDATES`].
pub fn candidates(content: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for segment in prose(content) {
        scan(&segment, &mut found);
        if found.len() >= MAX_CANDIDATES {
            found.truncate(MAX_CANDIDATES);
            break;
        }
    }
    found
}

fn scan(text: &str, found: &mut Vec<String>) {
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(is_word_char) {
            let rest = &text[i + 1..];
            let end = rest
                .char_indices()
                .find(|&(_, c)| !is_name_char(c))
                .map_or(rest.len(), |(j, _)| j);
            let name = rest[..end].trim_end_matches(['.', '-']);
            if !name.is_empty() && !found.iter().any(|f| f.eq_ignore_ascii_case(name)) {
                found.push(name.to_owned());
            }
        }
        prev = Some(c);
    }
}

/// The parts of `content` that are prose: outside fenced blocks and inline
/// code spans. Each returned segment is scanned separately, and a code span
/// counts as a word boundary on both sides.
fn prose(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut paragraph = String::new();
    for line in content.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| trimmed.chars().take_while(|c| *c == m).count());
        match fence {
            Some((m, n)) => {
                // A closing fence: the same character, at least as long, alone.
                if marker == Some(m) && run >= n && trimmed[run..].trim().is_empty() {
                    fence = None;
                }
            }
            None if indent <= 3 && run >= 3 => {
                out.extend(split_code_spans(&std::mem::take(&mut paragraph)));
                fence = marker.map(|m| (m, run));
            }
            None => paragraph.push_str(line),
        }
    }
    out.extend(split_code_spans(&paragraph));
    out
}

/// Splits text at inline code spans, dropping them: a run of N backticks
/// opens a span that the next run of exactly N closes; an unclosed run is
/// plain text.
fn split_code_spans(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let run = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + run..];
        match find_closing_run(after, run) {
            Some(close) => {
                current.push_str(&rest[..start]);
                out.push(std::mem::take(&mut current));
                rest = &after[close + run..];
            }
            None => {
                current.push_str(&rest[..start + run]);
                rest = after;
            }
        }
    }
    current.push_str(rest);
    out.push(current);
    out
}

/// Where the next run of exactly `n` backticks starts in `text`.
fn find_closing_run(text: &str, n: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let len = bytes[i..].iter().take_while(|b| **b == b'`').count();
            if len == n {
                return Some(i);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> Vec<String> {
        candidates(text)
    }

    /// Whether `text` addresses `handle` (or `all`) outside code.
    fn mentions(text: &str, handle: &str) -> bool {
        c(text)
            .iter()
            .any(|n| n.eq_ignore_ascii_case(handle) || n.eq_ignore_ascii_case(ALL))
    }

    #[test]
    fn word_boundaries() {
        assert_eq!(c("@ada please look"), ["ada"]);
        assert_eq!(c("hey @ada, and (@bob)"), ["ada", "bob"]);
        assert_eq!(c("mail ada@example.com"), Vec::<String>::new());
        assert_eq!(c("x_@ada"), Vec::<String>::new());
        assert_eq!(c("thanks @ada."), ["ada"]);
        assert_eq!(c("@ada-"), ["ada"]);
        assert_eq!(c("@ @@ @."), Vec::<String>::new());
        assert_eq!(
            c("é@ada"),
            Vec::<String>::new(),
            "a letter before @ is a word"
        );
        assert_eq!(c("—@ada"), ["ada"]);
    }

    #[test]
    fn handles_with_dashes_digits_dots_and_unicode() {
        assert_eq!(
            c("@claude-2 and @gpt.5 and @r2d2"),
            ["claude-2", "gpt.5", "r2d2"]
        );
        assert_eq!(c("@zoë!"), ["zoë"]);
        assert_eq!(c("@swift-otter-42?"), ["swift-otter-42"]);
    }

    #[test]
    fn case_is_folded_for_dedup_and_kept_as_written() {
        assert_eq!(c("@Ada @ada @ADA"), ["Ada"]);
        assert!(mentions("hi @ADA", "ada"));
        assert!(!mentions("hi @adam", "ada"));
    }

    #[test]
    fn all_mentions_everyone() {
        assert_eq!(c("@all standup"), ["all"]);
        assert!(mentions("@ALL standup", "bob"));
    }

    #[test]
    fn inline_code_does_not_count() {
        assert_eq!(c("use `@Override` here"), Vec::<String>::new());
        assert_eq!(c("``a ` @x`` then @y"), ["y"]);
        assert_eq!(c("`@x` @y `@z`"), ["y"]);
        // An unclosed backtick is plain text.
        assert_eq!(c("a ` @x"), ["x"]);
        // A code span is a boundary: `@` right after one starts a mention.
        assert_eq!(c("`code`@ada"), ["ada"]);
    }

    #[test]
    fn fenced_blocks_do_not_count() {
        let text = "look @ada\n```java\n@Override\nvoid f() {}\n```\nthen @bob";
        assert_eq!(c(text), ["ada", "bob"]);
        let tilde = "~~~\n@x\n~~~\n@y";
        assert_eq!(c(tilde), ["y"]);
        // A shorter or different marker does not close the fence.
        let unclosed = "````\n@x\n```\n@y\n";
        assert_eq!(c(unclosed), Vec::<String>::new());
        // Indented four spaces it is not a fence.
        assert_eq!(c("    ```\n@x"), ["x"]);
    }

    #[test]
    fn candidates_are_bounded() {
        let many: String = (0..50).map(|i| format!("@h{i} ")).collect();
        assert_eq!(c(&many).len(), MAX_CANDIDATES);
    }
}
