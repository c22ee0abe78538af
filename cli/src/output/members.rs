//! Output of the members and read-cursor commands (issues 12 and 13): the
//! server's JSON unchanged, or readable text on a terminal.

use std::io;

use protocol::wire::{Inbox, Member, MemberCreated, ReadCursor, Role, WhoAmI};

use super::{message_text, short_time, Output};
use crate::client::Fetched;
use crate::config::{KEY_VAR, URL_VAR};

impl Output {
    pub fn members(&self, members: &Fetched<Vec<Member>>) -> io::Result<()> {
        if self.json {
            self.emit(members.raw.trim())
        } else {
            self.emit(&members_text(&members.value))
        }
    }

    /// A new member (or a reissued token), for the server at `base`.
    pub fn member_created(&self, created: &Fetched<MemberCreated>, base: &str) -> io::Result<()> {
        if self.json {
            self.emit(created.raw.trim())
        } else {
            self.emit(&member_created_text(&created.value, base))
        }
    }

    pub fn member_removed(&self, room: &str, handle: &str) -> io::Result<()> {
        if self.json {
            let json = serde_json::json!({ "removed": true, "room_id": room, "handle": handle });
            self.emit(&json.to_string())
        } else {
            self.emit(&format!(
                "Removed {handle} from room {room}; their token no longer works."
            ))
        }
    }

    pub fn whoami(&self, who: &Fetched<WhoAmI>) -> io::Result<()> {
        if self.json {
            return self.emit(who.raw.trim());
        }
        match &who.value {
            WhoAmI::Owner => self.emit("An owner key: it owns rooms and manages their members."),
            WhoAmI::Member {
                room_id,
                handle,
                role,
            } => self.emit(&format!(
                "Member {handle} ({}) of room {room_id}; messages go out as {handle}.",
                role.as_str()
            )),
        }
    }

    pub fn inbox(&self, inbox: &Fetched<Inbox>) -> io::Result<()> {
        if self.json {
            self.emit(inbox.raw.trim())
        } else {
            self.emit(&inbox_text(&inbox.value))
        }
    }

    pub fn read_cursor(&self, read: &Fetched<ReadCursor>) -> io::Result<()> {
        if self.json {
            self.emit(read.raw.trim())
        } else {
            self.emit(&format!(
                "{} has read through message {}.",
                read.value.handle, read.value.cursor
            ))
        }
    }
}

pub fn members_text(members: &[Member]) -> String {
    if members.is_empty() {
        return "No members yet. Invite one: meet-ai invite <room> <handle> --role agent"
            .to_owned();
    }
    let owner_view = members.iter().any(|m| m.token_prefix.is_some());
    let mut rows: Vec<Vec<String>> = Vec::new();
    if owner_view {
        rows.push(
            ["HANDLE", "ROLE", "JOINED", "LAST SEEN", "TOKEN"]
                .map(str::to_owned)
                .to_vec(),
        );
    } else {
        rows.push(["HANDLE", "ROLE"].map(str::to_owned).to_vec());
    }
    for m in members {
        let mut row = vec![m.handle.clone(), m.role.as_str().to_owned()];
        if owner_view {
            let time = |t: Option<&str>| t.map(short_time).unwrap_or("-".into());
            row.push(time(m.created_at.as_deref()));
            row.push(time(m.last_seen_at.as_ref().and_then(|t| t.as_deref())));
            row.push(
                m.token_prefix
                    .as_deref()
                    .map(|p| format!("{p}\u{2026}"))
                    .unwrap_or("-".into()),
            );
        }
        rows.push(row);
    }
    table(&rows)
}

/// Left-aligned columns two spaces apart (widths in characters).
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c + 1 == row.len() {
                        cell.clone()
                    } else {
                        let pad = widths[c] - cell.chars().count();
                        format!("{cell}{}", " ".repeat(pad))
                    }
                })
                .collect();
            cells.join("  ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a human accepts an invitation: the room page with the token in
/// the fragment (never sent to the server in a request line or a log).
pub fn invite_link(base: &str, room: &str, token: &str) -> String {
    format!("{base}/r/{room}#invite={token}")
}

/// The token once, and how to hand it over: `.env` lines for an agent, the
/// invite link for a person (both for a viewer, who may be either).
pub fn member_created_text(m: &MemberCreated, base: &str) -> String {
    let mut text = format!(
        "Member {} ({}) of room {}.\nToken (shown only once): {}",
        m.handle,
        m.role.as_str(),
        m.room_id,
        m.token
    );
    if m.role != Role::Human {
        text.push_str(&format!(
            "\nFor an agent: put these lines in .env in its working directory \
             (its messages then go out as {}, verified):\n{URL_VAR}={base}\n{KEY_VAR}={}",
            m.handle, m.token
        ));
    }
    if m.role != Role::Agent {
        text.push_str(&format!(
            "\nFor a person: send them this link (it signs them in as {}):\n{}",
            m.handle,
            invite_link(base, &m.room_id, &m.token)
        ));
    }
    text
}

fn inbox_text(inbox: &Inbox) -> String {
    let mentions = &inbox.mentions;
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut text = format!(
        "{}: {} unread, {}",
        inbox.handle,
        plural(u64::from(inbox.unread), "message", "messages"),
        plural(mentions.len() as u64, "mention", "mentions")
    );
    for m in mentions {
        text.push('\n');
        text.push_str(&message_text(m));
    }
    if inbox.has_more {
        if let Some(last) = mentions.last() {
            text.push_str(&format!("\n(more mentions: add --after {})", last.id));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(handle: &str, role: Role, owner: bool) -> Member {
        Member {
            handle: handle.into(),
            role,
            created_at: owner.then(|| "2026-11-29T18:00:05.000Z".into()),
            last_seen_at: owner.then_some(None),
            token_prefix: owner.then(|| "mem_Ab12".into()),
        }
    }

    #[test]
    fn members_read_as_a_table_for_owner_and_member() {
        assert!(members_text(&[]).contains("meet-ai invite"));
        let mut seen = member("claude", Role::Agent, true);
        seen.last_seen_at = Some(Some("2026-11-29T18:30:00.000Z".into()));
        assert_eq!(
            members_text(&[member("ada", Role::Human, true), seen]),
            "HANDLE  ROLE   JOINED            LAST SEEN         TOKEN\n\
             ada     human  2026-11-29 18:00  -                 mem_Ab12\u{2026}\n\
             claude  agent  2026-11-29 18:00  2026-11-29 18:30  mem_Ab12\u{2026}"
        );
        assert_eq!(
            members_text(&[
                member("ada", Role::Human, false),
                member("bo", Role::Viewer, false)
            ]),
            "HANDLE  ROLE\nada     human\nbo      viewer"
        );
    }

    fn created(role: Role) -> MemberCreated {
        MemberCreated {
            room_id: "r1".into(),
            handle: "ada".into(),
            role,
            token: "mem_abcdefghijklmnopqrstuvwx".into(),
            token_prefix: "mem_abcd".into(),
            created_at: "2026-11-29T18:00:05.000Z".into(),
        }
    }

    #[test]
    fn an_agent_invitation_shows_the_dotenv_lines() {
        let text = member_created_text(&created(Role::Agent), "http://127.0.0.1:8787");
        assert_eq!(
            text,
            "Member ada (agent) of room r1.\n\
             Token (shown only once): mem_abcdefghijklmnopqrstuvwx\n\
             For an agent: put these lines in .env in its working directory \
             (its messages then go out as ada, verified):\n\
             MEET_AI_URL=http://127.0.0.1:8787\n\
             MEET_AI_KEY=mem_abcdefghijklmnopqrstuvwx"
        );
    }

    #[test]
    fn a_human_invitation_shows_the_link_and_a_viewer_both() {
        let text = member_created_text(&created(Role::Human), "https://meet-ai.cc");
        assert!(!text.contains("MEET_AI_KEY="), "{text}");
        assert!(text.ends_with(
            "\nFor a person: send them this link (it signs them in as ada):\n\
             https://meet-ai.cc/r/r1#invite=mem_abcdefghijklmnopqrstuvwx"
        ));
        let text = member_created_text(&created(Role::Viewer), "https://meet-ai.cc");
        assert!(text.contains("\nMEET_AI_KEY=mem_abcdefghijklmnopqrstuvwx\n"));
        assert!(text.contains("#invite=mem_"));
    }

    #[test]
    fn inbox_text_counts_and_lists_mentions() {
        let inbox: Inbox = serde_json::from_str(
            r#"{"handle":"ada","cursor":"c","unread":3,"has_more":true,"mentions":[
            {"id":"m1","room_id":"r","sender":"bob","sender_type":"human","color":null,
             "content":"@ada look","created_at":"2026-11-29T18:00:01.000Z",
             "verified":true,"mentions":["ada"],"kind":"message"}]}"#,
        )
        .unwrap();
        assert_eq!(
            inbox_text(&inbox),
            "ada: 3 messages unread, 1 mention\n\
             [18:00:01] bob \u{2713}: @ada look\n\
             (more mentions: add --after m1)"
        );
        let empty: Inbox = serde_json::from_str(
            r#"{"handle":"ada","cursor":"c","unread":1,"has_more":false,"mentions":[]}"#,
        )
        .unwrap();
        assert_eq!(inbox_text(&empty), "ada: 1 message unread, 0 mentions");
    }
}
