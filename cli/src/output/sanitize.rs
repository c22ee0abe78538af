//! What may reach a terminal. Anyone who can post to a room chooses the bytes
//! that `listen`, `poll` and the rest print, so text output drops every
//! control and escape sequence a terminal would act on: ESC sequences (CSI,
//! OSC including OSC 52 clipboard writes, DCS/SOS/PM/APC strings), the other
//! C0 controls except newline and tab (carriage return and backspace can
//! overwrite a line to fake a message), DEL, the C1 controls (U+0080–U+009F,
//! which some terminals treat as 8-bit CSI/OSC), and the invisible and
//! bidi-control characters the server refuses in names (issue 11 item 8), so a
//! message cannot display reversed. JSON output is never passed through here.
//!
//! A small state machine rather than a crate: `strip-ansi-escapes` keeps C1,
//! bidi and other controls this must drop, and the rules fit on one screen.

/// Invisible and direction-changing characters (the same list as names'
/// validation on the server): zero-width, bidi marks, embeddings, overrides
/// and isolates, word joiner and invisible operators, line and paragraph
/// separators, and the byte order mark.
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{FEFF}'
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After ESC.
    Escape,
    /// ESC followed by intermediates (0x20–0x2F), waiting for the final byte.
    EscapeIntermediate,
    /// Inside a CSI sequence, waiting for its final byte (0x40–0x7E).
    Csi,
    /// Inside an OSC/DCS/SOS/PM/APC string, until BEL or ST.
    Str,
    /// ESC seen inside a string: `\` ends it (ST).
    StrEscape,
}

/// `text` with every control and escape sequence removed (see the module
/// doc); `\n` and `\t` stay. An unterminated sequence swallows the rest, as
/// the terminal itself would have.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut state = State::Text;
    for c in text.chars() {
        state = match state {
            State::Text => match c {
                '\u{1b}' => State::Escape,
                '\u{9b}' => State::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => State::Str,
                '\n' | '\t' => {
                    out.push(c);
                    State::Text
                }
                c if c.is_control() || is_invisible_or_bidi(c) => State::Text,
                c => {
                    out.push(c);
                    State::Text
                }
            },
            State::Escape => match c {
                '[' => State::Csi,
                ']' | 'P' | 'X' | '^' | '_' => State::Str,
                '\u{20}'..='\u{2f}' => State::EscapeIntermediate,
                '\u{1b}' => State::Escape,
                _ => State::Text,
            },
            State::EscapeIntermediate => match c {
                '\u{20}'..='\u{2f}' => State::EscapeIntermediate,
                _ => State::Text,
            },
            State::Csi => match c {
                '\u{40}'..='\u{7e}' => State::Text,
                // ESC or another control aborts the sequence, as in a terminal.
                '\u{1b}' => State::Escape,
                _ => State::Csi,
            },
            State::Str => match c {
                '\u{07}' | '\u{9c}' => State::Text,
                '\u{1b}' => State::StrEscape,
                _ => State::Str,
            },
            State::StrEscape => match c {
                '\\' => State::Text,
                '\u{1b}' => State::StrEscape,
                _ => State::Str,
            },
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_newlines_tabs_and_unicode_pass_unchanged() {
        let s = "hello\n\tworld: café ✓ 日本語 [brackets] ~^_\\";
        assert_eq!(sanitize(s), s);
        assert_eq!(sanitize(""), "");
    }

    #[test]
    fn csi_sequences_are_removed() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(sanitize("a\x1b[2K\x1b[1Ab"), "ab");
        assert_eq!(sanitize("a\x1b[?1049hb"), "ab");
        assert_eq!(sanitize("a\u{9b}31mb"), "ab");
    }

    #[test]
    fn osc_strings_are_removed_whatever_ends_them() {
        // Window title, ended by BEL.
        assert_eq!(sanitize("a\x1b]0;pwned\x07b"), "ab");
        // OSC 52: write to the clipboard, ended by ST.
        assert_eq!(sanitize("a\x1b]52;c;cm0gLXJmIH4=\x1b\\b"), "ab");
        // Hyperlink with its text kept.
        assert_eq!(
            sanitize("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"),
            "click"
        );
        // 8-bit OSC ended by 8-bit ST.
        assert_eq!(sanitize("a\u{9d}0;t\u{9c}b"), "ab");
        // DCS, APC, PM, SOS.
        assert_eq!(
            sanitize("a\x1bPq#0\x1b\\b\x1b_x\x07c\x1b^y\x07d\x1bXz\x07e"),
            "abcde"
        );
        // Unterminated: the rest is swallowed.
        assert_eq!(sanitize("a\x1b]0;title forever"), "a");
    }

    #[test]
    fn other_escapes_and_controls_are_removed() {
        // Two-byte escapes and ones with intermediates (charset switches).
        assert_eq!(sanitize("a\x1bcb\x1b7c\x1b(0d"), "abcd");
        // C0 other than \n and \t, DEL, C1.
        assert_eq!(
            sanitize("a\rb\x08c\x00d\x7fe\u{85}f\u{9c}g\x0bh\x0ci"),
            "abcdefghi"
        );
        assert_eq!(sanitize("bell\x07"), "bell");
        assert_eq!(sanitize("trailing esc\x1b"), "trailing esc");
    }

    #[test]
    fn invisible_and_bidi_controls_are_removed() {
        assert_eq!(sanitize("cla\u{200B}ude"), "claude");
        assert_eq!(sanitize("\u{202E}txt.exe\u{202C}"), "txt.exe");
        for c in [
            '\u{200B}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2060}', '\u{2064}', '\u{2066}',
            '\u{2069}', '\u{2028}', '\u{2029}', '\u{FEFF}',
        ] {
            assert_eq!(sanitize(&format!("a{c}b")), "ab", "{:?}", c);
        }
        // Neighbours of the ranges are ordinary characters.
        assert_eq!(sanitize("a\u{2010}\u{2070}b"), "a\u{2010}\u{2070}b");
    }
}
