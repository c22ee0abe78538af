//! Who may do what, decided without a database: the rules that follow from the
//! credential alone. What needs rows (does this key own the room, is the
//! token still live) is checked by the statements themselves.
//!
//! An owner key may do everything to its own rooms. A member token opens one
//! room: owner-only actions answer 403 wherever they point, other rooms answer
//! 404 as if they did not exist, and a viewer reads but never sends.
//!
//! Which rooms may be read at all needs rows. The rule is [`readable`]: the
//! owner's key, or anyone when the room is public, and nobody once the owner
//! key is revoked; a live reader also loses the room when its own key is
//! revoked or its member token removed or re-issued. The Worker applies it
//! to the rows it reads (the room object's re-check of its sockets), and
//! states the same rule in SQL once, in `store::rooms` (`READABLE` and
//! `STILL_LIVE`), for the statements that filter by it (room, history,
//! stream open and poll, ticket, featured). A room no one may read answers
//! as if it did not exist (401 anonymous, 404 keyed).

use thiserror::Error;

use crate::error::ErrorCode;
use crate::role::Role;
use crate::validate::{Handle, ValidationError};

/// Who the credential is, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    Owner,
    Member {
        room_id: &'a str,
        handle: &'a str,
        role: Role,
    },
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ListRooms,
    CreateRoom,
    /// PATCH: public, loop guard.
    UpdateRoom,
    RevokeKey,
    /// Add, remove, re-issue.
    ManageMembers,
    ListMembers,
    /// The room, its history, its stream and socket, inbox and wait.
    Read,
    Send,
}

impl Action {
    fn owner_only(self) -> bool {
        matches!(
            self,
            Action::CreateRoom | Action::UpdateRoom | Action::RevokeKey | Action::ManageMembers
        )
    }
}

/// Why a rule refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Denied {
    #[error("{0}")]
    Forbidden(&'static str),
    /// The room is not this credential's: the same answer as an unknown room.
    #[error("room not found")]
    NotFound,
    #[error("{0}")]
    Invalid(ValidationError),
}

impl Denied {
    pub fn code(&self) -> ErrorCode {
        match self {
            Denied::Forbidden(_) => ErrorCode::Forbidden,
            Denied::NotFound => ErrorCode::NotFound,
            Denied::Invalid(e) => e.code(),
        }
    }
}

pub const OWNER_ONLY: &str =
    "a member token cannot do this: it needs the owner's key (mai_...), not a member token (mem_...)";
pub const VIEWER_CANNOT_SEND: &str = "this member is a viewer: it may read the room but not send";
pub const NOT_YOUR_NAME: &str =
    "a member sends under its own handle: leave out sender, or send exactly the handle";
pub const NOT_YOUR_CURSOR: &str =
    "a member token reads and moves only its own cursor: leave out for";

/// Checks an action on a room (`room_id` None for actions on no room).
/// Owner-only actions refuse a member before anything else, so the answer
/// says nothing about the room they name.
pub fn check(who: Principal<'_>, action: Action, room_id: Option<&str>) -> Result<(), Denied> {
    let Principal::Member {
        room_id: own, role, ..
    } = who
    else {
        return Ok(());
    };
    if action.owner_only() {
        return Err(Denied::Forbidden(OWNER_ONLY));
    }
    if room_id.is_some_and(|r| r != own) {
        return Err(Denied::NotFound);
    }
    if action == Action::Send && !role.can_send() {
        return Err(Denied::Forbidden(VIEWER_CANNOT_SEND));
    }
    Ok(())
}

/// The name a send goes out under. An owner names any sender (400 without
/// one); a member's handle is its sender, and naming another is refused.
/// The handle comparison folds ASCII case only, as the database's does.
pub fn sender_for(who: Principal<'_>, requested: Option<&str>) -> Result<String, Denied> {
    match (who, requested) {
        (Principal::Owner, Some(name)) => Ok(name.to_owned()),
        (Principal::Owner, None) => Err(Denied::Invalid(ValidationError::SenderRequired)),
        (Principal::Member { handle, .. }, None) => Ok(handle.to_owned()),
        (Principal::Member { handle, .. }, Some(name)) if name.eq_ignore_ascii_case(handle) => {
            Ok(handle.to_owned())
        }
        (Principal::Member { .. }, Some(_)) => Err(Denied::Forbidden(NOT_YOUR_NAME)),
    }
}

/// The handle whose inbox, cursor or wait a request is about: an owner names
/// any (`for` required); a member is always itself.
pub fn reader_handle(who: Principal<'_>, requested: Option<&Handle>) -> Result<String, Denied> {
    match (who, requested) {
        (Principal::Owner, Some(h)) => Ok(h.as_ref().to_owned()),
        (Principal::Owner, None) => Err(Denied::Invalid(ValidationError::ForRequired)),
        (Principal::Member { handle, .. }, None) => Ok(handle.to_owned()),
        (Principal::Member { handle, .. }, Some(h)) if h.as_ref().eq_ignore_ascii_case(handle) => {
            Ok(handle.to_owned())
        }
        (Principal::Member { .. }, Some(_)) => Err(Denied::Forbidden(NOT_YOUR_CURSOR)),
    }
}

pub const ONLY_AGENTS_ASK: &str =
    "only an agent member or the owner key asks for a decision; people answer them";
pub const ONLY_HUMANS_ANSWER: &str =
    "only a human member's token or the owner key may answer a decision";
pub const NOT_YOUR_OWN: &str =
    "the credential that asked for a decision cannot answer it: a person must";
pub const OWNER_ASKED: &str =
    "the owner key asked for this decision, so only a human member's token may answer it";
pub const ONLY_REQUESTER_CANCELS: &str = "only the credential that asked may cancel a decision";

/// Who asked for a decision: the owner key, or the member with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker<'a> {
    Owner,
    Member(&'a str),
}

/// A credential as the decision rules see it: a principal, and for a member
/// its id (handles can be reused after a removal; ids cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    pub principal: Principal<'a>,
    pub member_id: Option<&'a str>,
}

impl Credential<'_> {
    fn is(&self, asker: Asker<'_>) -> bool {
        match (self.principal, asker) {
            (Principal::Owner, Asker::Owner) => true,
            (Principal::Member { .. }, Asker::Member(id)) => self.member_id == Some(id),
            _ => false,
        }
    }
}

/// May this credential ask for a decision? The owner key or an agent member.
pub fn may_request(who: Principal<'_>) -> Result<(), Denied> {
    match who {
        Principal::Owner
        | Principal::Member {
            role: Role::Agent, ..
        } => Ok(()),
        Principal::Member { .. } => Err(Denied::Forbidden(ONLY_AGENTS_ASK)),
    }
}

/// May this credential answer a decision `asker` asked for? Only a verified
/// human: a human member, or the owner key, and never the asker itself (so
/// an owner-key request is for human members only).
pub fn may_answer(who: Credential<'_>, asker: Asker<'_>) -> Result<(), Denied> {
    if who.is(asker) {
        return Err(Denied::Forbidden(match asker {
            Asker::Owner => OWNER_ASKED,
            Asker::Member(_) => NOT_YOUR_OWN,
        }));
    }
    match who.principal {
        Principal::Owner
        | Principal::Member {
            role: Role::Human, ..
        } => Ok(()),
        Principal::Member { .. } => Err(Denied::Forbidden(ONLY_HUMANS_ANSWER)),
    }
}

/// May this credential cancel a decision? Only the one that asked.
pub fn may_cancel(who: Credential<'_>, asker: Asker<'_>) -> Result<(), Denied> {
    if who.is(asker) {
        Ok(())
    } else {
        Err(Denied::Forbidden(ONLY_REQUESTER_CANCELS))
    }
}

/// A room as the read rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomAccess<'a> {
    /// The owner key's id.
    pub owner: &'a str,
    pub public: bool,
}

/// What the rows say about one reader of a room, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCheck<'a> {
    /// None: the room is gone, or its owner key revoked (then no one reads
    /// it, public or not: revoking is what people do when a key leaked).
    pub room: Option<RoomAccess<'a>>,
    /// The reader's key id (a member's is its room owner's); None for an
    /// anonymous reader.
    pub reader: Option<&'a str>,
    /// The reader's own key has been revoked.
    pub reader_revoked: bool,
    /// The reader is a member token that is no longer live (removed or
    /// re-issued). False for a key or an anonymous reader.
    pub member_gone: bool,
}

/// Why a reader may not read a room, in the order the rule refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Gone, or its owner key revoked.
    RoomGone,
    ReaderRevoked,
    MemberGone,
    /// Private, and the reader is not its owner (nor one of its members).
    Private,
}

/// The one rule for who may read a room: the room exists under a live owner
/// key, the reader's own credential is live, and the room is public or the
/// reader's key owns it. The SQL twin is `store::rooms::{READABLE, STILL_LIVE}`.
pub fn readable(check: ReadCheck<'_>) -> Result<(), Unreadable> {
    let Some(room) = check.room else {
        return Err(Unreadable::RoomGone);
    };
    if check.reader_revoked {
        return Err(Unreadable::ReaderRevoked);
    }
    if check.member_gone {
        return Err(Unreadable::MemberGone);
    }
    if !room.public && check.reader != Some(room.owner) {
        return Err(Unreadable::Private);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_ask_answer_and_cancel_decisions() {
        let owner = Credential {
            principal: Principal::Owner,
            member_id: None,
        };
        let cred = |role, id| Credential {
            principal: member(role),
            member_id: Some(id),
        };
        let (agent, human, viewer) = (
            cred(Role::Agent, "m1"),
            cred(Role::Human, "m2"),
            cred(Role::Viewer, "m3"),
        );
        assert_eq!(may_request(Principal::Owner), Ok(()));
        assert_eq!(may_request(agent.principal), Ok(()));
        for p in [human.principal, viewer.principal] {
            assert_eq!(may_request(p), Err(Denied::Forbidden(ONLY_AGENTS_ASK)));
        }
        // An agent's request: a human member or the owner answers.
        let by_agent = Asker::Member("m1");
        assert_eq!(may_answer(human, by_agent), Ok(()));
        assert_eq!(may_answer(owner, by_agent), Ok(()));
        assert_eq!(
            may_answer(agent, by_agent),
            Err(Denied::Forbidden(NOT_YOUR_OWN))
        );
        let other_agent = cred(Role::Agent, "m9");
        assert_eq!(
            may_answer(other_agent, by_agent),
            Err(Denied::Forbidden(ONLY_HUMANS_ANSWER))
        );
        assert_eq!(
            may_answer(viewer, by_agent),
            Err(Denied::Forbidden(ONLY_HUMANS_ANSWER))
        );
        // The owner's own request: human members only.
        assert_eq!(
            may_answer(owner, Asker::Owner),
            Err(Denied::Forbidden(OWNER_ASKED))
        );
        assert_eq!(may_answer(human, Asker::Owner), Ok(()));
        assert_eq!(
            may_answer(agent, Asker::Owner),
            Err(Denied::Forbidden(ONLY_HUMANS_ANSWER))
        );
        // A human that somehow asked cannot answer itself.
        assert_eq!(
            may_answer(human, Asker::Member("m2")),
            Err(Denied::Forbidden(NOT_YOUR_OWN))
        );
        // Only the asker cancels.
        assert_eq!(may_cancel(agent, by_agent), Ok(()));
        assert_eq!(may_cancel(owner, Asker::Owner), Ok(()));
        for who in [owner, human, viewer, other_agent] {
            assert_eq!(
                may_cancel(who, by_agent),
                Err(Denied::Forbidden(ONLY_REQUESTER_CANCELS))
            );
        }
        assert_eq!(
            may_cancel(agent, Asker::Owner),
            Err(Denied::Forbidden(ONLY_REQUESTER_CANCELS))
        );
    }

    const ROOM: &str = "room-a";

    fn member(role: Role) -> Principal<'static> {
        Principal::Member {
            room_id: ROOM,
            handle: "ada",
            role,
        }
    }

    #[test]
    fn owners_may_do_everything() {
        for action in [
            Action::ListRooms,
            Action::CreateRoom,
            Action::UpdateRoom,
            Action::RevokeKey,
            Action::ManageMembers,
            Action::ListMembers,
            Action::Read,
            Action::Send,
        ] {
            assert_eq!(check(Principal::Owner, action, Some("any")), Ok(()));
        }
    }

    #[test]
    fn members_get_403_for_owner_actions_wherever_they_point() {
        for action in [
            Action::CreateRoom,
            Action::UpdateRoom,
            Action::RevokeKey,
            Action::ManageMembers,
        ] {
            for room in [None, Some(ROOM), Some("room-b")] {
                assert_eq!(
                    check(member(Role::Human), action, room),
                    Err(Denied::Forbidden(OWNER_ONLY))
                );
            }
        }
    }

    #[test]
    fn members_see_only_their_room() {
        for action in [Action::Read, Action::Send, Action::ListMembers] {
            assert_eq!(
                check(member(Role::Agent), action, Some("room-b")),
                Err(Denied::NotFound)
            );
            assert_eq!(check(member(Role::Agent), action, Some(ROOM)), Ok(()));
        }
        // Even a viewer's send to another room is "not found" first.
        assert_eq!(
            check(member(Role::Viewer), Action::Send, Some("room-b")),
            Err(Denied::NotFound)
        );
    }

    #[test]
    fn viewers_read_but_never_send() {
        assert_eq!(
            check(member(Role::Viewer), Action::Read, Some(ROOM)),
            Ok(())
        );
        assert_eq!(
            check(member(Role::Viewer), Action::Send, Some(ROOM)),
            Err(Denied::Forbidden(VIEWER_CANNOT_SEND))
        );
        assert_eq!(Denied::Forbidden(VIEWER_CANNOT_SEND).code().status(), 403);
    }

    #[test]
    fn a_members_sender_is_its_handle() {
        let m = member(Role::Agent);
        assert_eq!(sender_for(m, None).unwrap(), "ada");
        assert_eq!(sender_for(m, Some("ADA")).unwrap(), "ada");
        assert_eq!(
            sender_for(m, Some("bob")),
            Err(Denied::Forbidden(NOT_YOUR_NAME))
        );
        assert_eq!(sender_for(Principal::Owner, Some("bob")).unwrap(), "bob");
        let missing = sender_for(Principal::Owner, None).unwrap_err();
        assert_eq!(missing.code(), ErrorCode::BadRequest);
    }

    #[test]
    fn a_member_reads_only_its_own_cursor() {
        let m = member(Role::Viewer);
        let other = Handle::parse("bob").unwrap();
        let own = Handle::parse("Ada").unwrap();
        assert_eq!(reader_handle(m, None).unwrap(), "ada");
        assert_eq!(reader_handle(m, Some(&own)).unwrap(), "ada");
        assert_eq!(
            reader_handle(m, Some(&other)),
            Err(Denied::Forbidden(NOT_YOUR_CURSOR))
        );
        assert_eq!(
            reader_handle(Principal::Owner, Some(&other)).unwrap(),
            "bob"
        );
        assert_eq!(
            reader_handle(Principal::Owner, None).unwrap_err().code(),
            ErrorCode::BadRequest
        );
    }

    const OWNER: &str = "key-owner";

    fn reading(public: bool, reader: Option<&'static str>) -> ReadCheck<'static> {
        ReadCheck {
            room: Some(RoomAccess {
                owner: OWNER,
                public,
            }),
            reader,
            reader_revoked: false,
            member_gone: false,
        }
    }

    #[test]
    fn the_owner_reads_its_room_and_anyone_reads_a_public_one() {
        assert_eq!(readable(reading(false, Some(OWNER))), Ok(()));
        assert_eq!(readable(reading(true, Some(OWNER))), Ok(()));
        assert_eq!(readable(reading(true, Some("other"))), Ok(()));
        assert_eq!(readable(reading(true, None)), Ok(()));
        assert_eq!(
            readable(reading(false, Some("other"))),
            Err(Unreadable::Private)
        );
        assert_eq!(readable(reading(false, None)), Err(Unreadable::Private));
    }

    #[test]
    fn a_gone_room_and_a_lost_credential_refuse_in_order() {
        let gone = ReadCheck {
            room: None,
            reader_revoked: true,
            member_gone: true,
            ..reading(true, Some(OWNER))
        };
        assert_eq!(readable(gone), Err(Unreadable::RoomGone));
        let revoked = ReadCheck {
            reader_revoked: true,
            member_gone: true,
            ..reading(false, Some("other"))
        };
        assert_eq!(readable(revoked), Err(Unreadable::ReaderRevoked));
        let removed = ReadCheck {
            member_gone: true,
            ..reading(false, Some("other"))
        };
        assert_eq!(readable(removed), Err(Unreadable::MemberGone));
        // A public room does not outlive the reader's own revocation.
        let revoked_public = ReadCheck {
            reader_revoked: true,
            ..reading(true, Some("other"))
        };
        assert_eq!(readable(revoked_public), Err(Unreadable::ReaderRevoked));
    }
}
