//! Decisions: a permission prompt, a plan or a question an agent puts to the
//! room's humans, and the one answer that settles it. Pure: the request and
//! answer bodies are parsed and checked against each other here; who may ask,
//! answer and cancel is in [`crate::access`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::error::ErrorCode;
use crate::time::rfc3339_millis;
use crate::validate::{Sender, ValidationError, MAX_BODY_BYTES};

/// Seconds a request stays open when the body names no `expires_in`.
pub const DEFAULT_EXPIRY_SECS: i64 = 300;
/// The shortest expiry accepted (short ones keep tests fast; clients use more).
pub const MIN_EXPIRY_SECS: i64 = 1;
pub const MAX_EXPIRY_SECS: i64 = 3600;
pub const MAX_QUESTIONS: usize = 4;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 8;
pub const MAX_SUGGESTIONS: usize = 50;
pub const MAX_FEEDBACK_CHARS: usize = 4000;
pub const MAX_TOOL_NAME_CHARS: usize = 200;
pub const MAX_QUESTION_CHARS: usize = 2000;
pub const MAX_LABEL_CHARS: usize = 500;
/// A free-text answer to a question: `"Other: ..."`.
pub const OTHER_PREFIX: &str = "Other:";
/// The `decided_by` of an answer given with the owner key.
pub const OWNER_DECIDER: &str = "owner";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// A tool call to allow or deny.
    Permission,
    /// A plan to approve or send back.
    Plan,
    /// Questions with options to choose from.
    Question,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Permission => "permission",
            DecisionKind::Plan => "plan",
            DecisionKind::Question => "question",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionStatus {
    Pending,
    Allowed,
    Denied,
    Answered,
    /// Never stored: a pending request past its expiry reads as this.
    Expired,
    Cancelled,
}

impl DecisionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Pending => "pending",
            DecisionStatus::Allowed => "allowed",
            DecisionStatus::Denied => "denied",
            DecisionStatus::Answered => "answered",
            DecisionStatus::Expired => "expired",
            DecisionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<DecisionStatus> {
        serde_json::from_value(Value::String(raw.to_owned())).ok()
    }

    /// The stored status as seen at `now_s`: pending past the expiry is expired.
    pub fn at(self, expires_at_s: i64, now_s: i64) -> DecisionStatus {
        if self == DecisionStatus::Pending && now_s >= expires_at_s {
            DecisionStatus::Expired
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionOption {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One question, in Claude Code's `AskUserQuestion` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub question: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    pub options: Vec<QuestionOption>,
    #[serde(rename = "multiSelect", default)]
    pub multi_select: bool,
}

/// What was asked: the `request` column, kept whole (never truncated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<Value>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub questions: Option<Vec<Question>>,
    /// Claude Code's `permission_suggestions`, kept as sent.
    #[serde(default)]
    pub suggestions: Option<Vec<Value>>,
}

/// One question's answer: a label (or `"Other: ..."`), or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    One(String),
    Many(Vec<String>),
}

/// An answer as sent and, once fitted to its request, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<BTreeMap<String, AnswerValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Value>,
}

/// A decision as every route and message shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub room_id: String,
    pub kind: DecisionKind,
    pub requester: String,
    /// A member token asked (the requester is its handle), not the owner key.
    pub requester_verified: bool,
    pub tool_name: Option<String>,
    pub tool_input: Option<Value>,
    pub plan: Option<String>,
    pub questions: Option<Vec<Question>>,
    pub suggestions: Option<Vec<Value>>,
    pub status: DecisionStatus,
    /// allow/deny; an answered question reads as allow.
    pub outcome: Option<Outcome>,
    pub answers: Option<BTreeMap<String, AnswerValue>>,
    pub feedback: Option<String>,
    pub suggestion: Option<Value>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub expires_at_s: i64,
}

/// Why a decision body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecisionError {
    /// The body does not fit its kind, or is not the right JSON: 400.
    #[error("{0}")]
    Invalid(String),
    /// The answer does not fit the request (a label or suggestion not offered): 422.
    #[error("{0}")]
    Unfit(String),
    #[error("{0}")]
    Validation(ValidationError),
}

impl DecisionError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecisionError::Invalid(_) => ErrorCode::BadRequest,
            DecisionError::Unfit(_) => ErrorCode::Unprocessable,
            DecisionError::Validation(e) => e.code(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> DecisionError {
    DecisionError::Invalid(msg.into())
}

fn unfit(msg: impl Into<String>) -> DecisionError {
    DecisionError::Unfit(msg.into())
}

fn json_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecisionError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(DecisionError::Validation(ValidationError::BodyTooLarge));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| DecisionError::Validation(ValidationError::NotUtf8))?;
    if !text.trim_start().starts_with('{') {
        return Err(invalid("invalid JSON body: expected a JSON object"));
    }
    serde_json::from_str(text).map_err(|e| invalid(format!("invalid JSON body: {e}")))
}

/// `POST /api/rooms/:id/decisions`, parsed and checked against its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    pub kind: DecisionKind,
    pub request: DecisionRequest,
    pub expires_in: i64,
    /// The name an owner-key request is shown under (members: their handle).
    pub requester: Option<Sender>,
}

#[derive(Deserialize)]
struct NewDecisionBody {
    kind: DecisionKind,
    #[serde(flatten)]
    request: DecisionRequest,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    requester: Option<String>,
}

fn text(raw: &str, field: &str, max: usize) -> Result<String, DecisionError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if t.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(t.to_owned())
}

impl NewDecision {
    pub fn from_json(body: &[u8]) -> Result<NewDecision, DecisionError> {
        let b: NewDecisionBody = json_object(body)?;
        let mut request = b.request;
        let expires_in = b.expires_in.unwrap_or(DEFAULT_EXPIRY_SECS);
        if !(MIN_EXPIRY_SECS..=MAX_EXPIRY_SECS).contains(&expires_in) {
            return Err(invalid(format!(
                "expires_in must be whole seconds from {MIN_EXPIRY_SECS} to {MAX_EXPIRY_SECS}"
            )));
        }
        if let Some(name) = &request.tool_name {
            request.tool_name = Some(text(name, "tool_name", MAX_TOOL_NAME_CHARS)?);
        }
        if request.tool_input.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(invalid("tool_input must be a JSON object"));
        }
        if request
            .suggestions
            .as_ref()
            .is_some_and(|s| s.len() > MAX_SUGGESTIONS)
        {
            return Err(invalid(format!(
                "at most {MAX_SUGGESTIONS} suggestions are allowed"
            )));
        }
        match b.kind {
            DecisionKind::Permission => {
                if request.tool_name.is_none() || request.tool_input.is_none() {
                    return Err(invalid(
                        "a permission request needs tool_name and tool_input",
                    ));
                }
            }
            DecisionKind::Plan => match &request.plan {
                Some(p) if !p.trim().is_empty() => {}
                _ => return Err(invalid("a plan request needs plan (the plan's text)")),
            },
            DecisionKind::Question => check_questions(request.questions.as_deref())?,
        }
        if b.kind != DecisionKind::Plan && request.plan.is_some() {
            return Err(invalid("plan belongs to a plan request only"));
        }
        if b.kind != DecisionKind::Question && request.questions.is_some() {
            return Err(invalid("questions belong to a question request only"));
        }
        let requester = b
            .requester
            .map(|r| Sender::parse(&r))
            .transpose()
            .map_err(DecisionError::Validation)?;
        Ok(NewDecision {
            kind: b.kind,
            request,
            expires_in,
            requester,
        })
    }
}

fn check_questions(questions: Option<&[Question]>) -> Result<(), DecisionError> {
    let qs = questions.unwrap_or_default();
    if qs.is_empty() || qs.len() > MAX_QUESTIONS {
        return Err(invalid(format!(
            "a question request needs 1 to {MAX_QUESTIONS} questions"
        )));
    }
    for (i, q) in qs.iter().enumerate() {
        text(&q.question, "question", MAX_QUESTION_CHARS)?;
        if qs[..i].iter().any(|p| p.question == q.question) {
            return Err(invalid("each question must be asked once"));
        }
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&q.options.len()) {
            return Err(invalid(format!(
                "each question needs {MIN_OPTIONS} to {MAX_OPTIONS} options"
            )));
        }
        for (j, o) in q.options.iter().enumerate() {
            text(&o.label, "an option's label", MAX_LABEL_CHARS)?;
            if q.options[..j].iter().any(|p| p.label == o.label) {
                return Err(invalid("a question's option labels must differ"));
            }
        }
    }
    Ok(())
}

impl Answer {
    /// `POST .../answer`, parsed (its fit to the request is [`Answer::fit`]).
    pub fn from_json(body: &[u8]) -> Result<Answer, DecisionError> {
        let a: Answer = json_object(body)?;
        if a.outcome.is_none() && a.answers.is_none() {
            return Err(invalid(
                "send outcome (allow or deny) for a permission or plan, answers for a question",
            ));
        }
        if let Some(f) = &a.feedback {
            if f.chars().count() > MAX_FEEDBACK_CHARS {
                return Err(invalid(format!(
                    "feedback must be at most {MAX_FEEDBACK_CHARS} characters"
                )));
            }
        }
        Ok(a)
    }

    /// Checks this answer against what was asked and returns it as stored:
    /// labels offered, every question answered once, a suggestion only one
    /// of those offered. 422 when it does not fit.
    pub fn fit(
        self,
        kind: DecisionKind,
        request: &DecisionRequest,
    ) -> Result<Answer, DecisionError> {
        if let Some(s) = &self.suggestion {
            let offered = request.suggestions.as_deref().unwrap_or_default();
            if !offered.contains(s) {
                return Err(unfit("suggestion must be one of the request's suggestions"));
            }
            if self.outcome != Some(Outcome::Allow) {
                return Err(unfit(
                    "a suggestion (always allow) goes with outcome allow only",
                ));
            }
        }
        let feedback = self.feedback.filter(|f| !f.trim().is_empty());
        match kind {
            DecisionKind::Permission | DecisionKind::Plan => {
                if self.answers.is_some() {
                    return Err(unfit(
                        "answers are for questions; send outcome allow or deny",
                    ));
                }
                Ok(Answer { feedback, ..self })
            }
            DecisionKind::Question => {
                if self.outcome.is_some() {
                    return Err(unfit("a question takes answers, not an outcome"));
                }
                let given = self.answers.unwrap_or_default();
                let answers = fit_answers(request.questions.as_deref().unwrap_or_default(), given)?;
                Ok(Answer {
                    outcome: Some(Outcome::Allow),
                    answers: Some(answers),
                    feedback,
                    suggestion: self.suggestion,
                })
            }
        }
    }

    /// The status this answer settles a request of `kind` with.
    pub fn status(&self, kind: DecisionKind) -> DecisionStatus {
        match (kind, self.outcome) {
            (DecisionKind::Question, _) => DecisionStatus::Answered,
            (_, Some(Outcome::Allow)) => DecisionStatus::Allowed,
            _ => DecisionStatus::Denied,
        }
    }
}

fn is_other(value: &str) -> bool {
    value
        .strip_prefix(OTHER_PREFIX)
        .is_some_and(|rest| !rest.trim().is_empty() && rest.chars().count() <= MAX_FEEDBACK_CHARS)
}

fn fit_choice(q: &Question, value: &str) -> Result<(), DecisionError> {
    if q.options.iter().any(|o| o.label == value) || is_other(value) {
        Ok(())
    } else {
        Err(unfit(format!(
            "'{value}' is not an option of \"{}\" (or use \"Other: <text>\")",
            q.question
        )))
    }
}

fn fit_answers(
    questions: &[Question],
    mut given: BTreeMap<String, AnswerValue>,
) -> Result<BTreeMap<String, AnswerValue>, DecisionError> {
    let mut out = BTreeMap::new();
    for q in questions {
        let value = given
            .remove(&q.question)
            .ok_or_else(|| unfit(format!("\"{}\" has no answer", q.question)))?;
        let value = match (q.multi_select, value) {
            (false, AnswerValue::One(v)) => AnswerValue::One(v),
            (false, AnswerValue::Many(mut v)) if v.len() == 1 => AnswerValue::One(v.remove(0)),
            (false, AnswerValue::Many(_)) => {
                return Err(unfit(format!("\"{}\" takes exactly one label", q.question)))
            }
            (true, AnswerValue::One(v)) => AnswerValue::Many(vec![v]),
            (true, AnswerValue::Many(v)) => AnswerValue::Many(v),
        };
        match &value {
            AnswerValue::One(v) => fit_choice(q, v)?,
            AnswerValue::Many(vs) => {
                if vs.is_empty() {
                    return Err(unfit(format!(
                        "\"{}\" needs at least one label",
                        q.question
                    )));
                }
                for (i, v) in vs.iter().enumerate() {
                    fit_choice(q, v)?;
                    if vs[..i].contains(v) {
                        return Err(unfit("a label may be chosen once"));
                    }
                }
            }
        }
        out.insert(q.question.clone(), value);
    }
    if let Some(extra) = given.keys().next() {
        return Err(unfit(format!(
            "\"{extra}\" is not a question of this request"
        )));
    }
    Ok(out)
}

/// A decision as D1 returns it (times in seconds).
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionRow {
    pub id: String,
    pub room_id: String,
    pub key_id: String,
    pub requester_member_id: Option<String>,
    pub requester: String,
    pub kind: DecisionKind,
    /// JSON of a [`DecisionRequest`].
    pub request: String,
    pub status: String,
    /// JSON of the winning [`Answer`].
    pub answer: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at_s: Option<i64>,
    pub created_at_s: i64,
    pub expires_at_s: i64,
}

impl DecisionRow {
    pub fn request(&self) -> DecisionRequest {
        serde_json::from_str(&self.request).unwrap_or_default()
    }

    /// The stored status as seen at `now_s` (expired computed).
    pub fn status_at(&self, now_s: i64) -> DecisionStatus {
        DecisionStatus::parse(&self.status)
            .unwrap_or(DecisionStatus::Pending)
            .at(self.expires_at_s, now_s)
    }

    pub fn to_decision(&self, now_s: i64) -> Decision {
        let r = self.request();
        let a: Answer = self
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default();
        Decision {
            id: self.id.clone(),
            room_id: self.room_id.clone(),
            kind: self.kind,
            requester: self.requester.clone(),
            requester_verified: self.requester_member_id.is_some(),
            tool_name: r.tool_name,
            tool_input: r.tool_input,
            plan: r.plan,
            questions: r.questions,
            suggestions: r.suggestions,
            status: self.status_at(now_s),
            outcome: a.outcome,
            answers: a.answers,
            feedback: a.feedback,
            suggestion: a.suggestion,
            decided_by: self.decided_by.clone(),
            decided_at: self.decided_at_s.map(|s| rfc3339_millis(s * 1000)),
            created_at: rfc3339_millis(self.created_at_s * 1000),
            expires_at: rfc3339_millis(self.expires_at_s * 1000),
            expires_at_s: self.expires_at_s,
        }
    }
}

/// Longest excerpt of a command or question a summary shows.
const EXCERPT_CHARS: usize = 200;

fn excerpt(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}…")
    }
}

/// What the tool call would do, in a few words (the message text only; the
/// decision itself keeps the whole input).
fn what(d: &Decision) -> String {
    let tool = d.tool_name.as_deref().unwrap_or("a tool");
    let input = d.tool_input.as_ref();
    let detail = ["command", "file_path", "url", "pattern", "path"]
        .iter()
        .find_map(|k| input.and_then(|i| i.get(k)).and_then(Value::as_str));
    match detail {
        Some(d) => format!("{tool}: `{}`", excerpt(&d.replace('`', "'"))),
        None => tool.to_owned(),
    }
}

/// The plain-text `content` of the message that carries a decision snapshot.
pub fn summary(d: &Decision) -> String {
    let who = &d.requester;
    let by = d.decided_by.as_deref().unwrap_or("someone");
    let asked = match d.kind {
        DecisionKind::Permission => format!("run {}", what(d)),
        DecisionKind::Plan => "approve a plan".to_owned(),
        DecisionKind::Question => {
            let first = d
                .questions
                .as_ref()
                .and_then(|q| q.first())
                .map(|q| excerpt(&q.question))
                .unwrap_or_default();
            format!("answer: {first}")
        }
    };
    match d.status {
        DecisionStatus::Pending => format!("{who} asks to {asked}"),
        DecisionStatus::Allowed => format!("{by} allowed {who} to {asked}"),
        DecisionStatus::Denied => format!("{by} denied {who} to {asked}"),
        DecisionStatus::Answered => format!("{by} answered {who}'s question"),
        DecisionStatus::Cancelled => format!("{who} withdrew its request to {asked}"),
        DecisionStatus::Expired => format!("{who}'s request to {asked} expired"),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
