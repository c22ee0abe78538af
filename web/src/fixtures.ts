// The server's own JSON, checked against the types the front end is written
// against. protocol/tests/fixtures.rs writes protocol/fixtures/*.json from the
// Rust wire types (and fails when a committed file is stale); here each file
// is assigned to its TypeScript type, so `tsc -p web` (make build, make lint)
// fails when the two drift: a field the type requires that the server does
// not send, a field of another type, or a field the server sends that the
// type does not know. Type-checked only: nothing imports this module, so it
// is in no bundle.

import type { ErrorBody, ErrorFrame, Inbox, Member, Message, MessageFrame, PongFrame, Room } from "./api";
import type { Decision } from "./decision";

import decision from "../../protocol/fixtures/decision.json";
import error from "../../protocol/fixtures/error.json";
import inbox from "../../protocol/fixtures/inbox.json";
import member from "../../protocol/fixtures/member.json";
import message from "../../protocol/fixtures/message.json";
import messageDecision from "../../protocol/fixtures/message_decision.json";
import messageNotice from "../../protocol/fixtures/message_notice.json";
import room from "../../protocol/fixtures/room.json";
import wsError from "../../protocol/fixtures/ws_error.json";
import wsMessage from "../../protocol/fixtures/ws_message.json";
import wsPong from "../../protocol/fixtures/ws_pong.json";

/** `T` as JSON imports are typed: string literal unions widen to string. */
type Json<T> = T extends string
  ? string
  : T extends number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Json<U>[]
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/** `true` only when the fixture `F` has no key the type `T` lacks. */
type NoUnknownKeys<T, F> = [Exclude<keyof F, keyof T>] extends [never] ? true : Exclude<keyof F, keyof T>;

/** Each fixture as its type (literal unions widened, see Json). */
export const fixtures: {
  message: Json<Message>;
  messageDecision: Json<Message>;
  messageNotice: Json<Message>;
  room: Json<Room>;
  member: Json<Member>;
  decision: Json<Decision>;
  inbox: Json<Inbox>;
  error: Json<ErrorBody>;
  wsMessage: Json<MessageFrame>;
  wsPong: Json<PongFrame>;
  wsError: Json<ErrorFrame>;
} = { message, messageDecision, messageNotice, room, member, decision, inbox, error, wsMessage, wsPong, wsError };

/** And no fixture carries a field its type does not declare. */
export const noUnknownKeys: [
  NoUnknownKeys<Message, typeof message>,
  NoUnknownKeys<Message, typeof messageDecision>,
  NoUnknownKeys<Decision, typeof messageDecision.decision>,
  NoUnknownKeys<Message, typeof messageNotice>,
  NoUnknownKeys<Room, typeof room>,
  NoUnknownKeys<Member, typeof member>,
  NoUnknownKeys<Decision, typeof decision>,
  NoUnknownKeys<Inbox, typeof inbox>,
  NoUnknownKeys<Message, (typeof inbox.mentions)[number]>,
  NoUnknownKeys<ErrorBody, typeof error>,
  NoUnknownKeys<MessageFrame, typeof wsMessage>,
  NoUnknownKeys<PongFrame, typeof wsPong>,
  NoUnknownKeys<ErrorFrame, typeof wsError>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];
