use super::*;
use clap::error::ErrorKind;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("meet-ai").chain(args.iter().copied()))
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn send_joins_words_after_the_sender() {
    let cli = parse(&["send-message", "r1", "claude", "hello", "big", "world"]).unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!("not send-message");
    };
    assert_eq!(send.room, "r1");
    assert_eq!(
        send.split().unwrap(),
        (
            Some("claude".to_owned()),
            ContentSource::Inline("hello big world".into())
        )
    );
    assert_eq!(send.sender_type, SenderKind::Agent);
    assert_eq!(send.color, None);
    assert_eq!(send.retries, 5);
}

#[test]
fn send_reads_stdin_for_a_lone_dash_and_keeps_leading_dashes_in_text() {
    let cli = parse(&["send-message", "r", "me", "-"]).unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!()
    };
    assert_eq!(
        send.split().unwrap(),
        (Some("me".to_owned()), ContentSource::Stdin)
    );

    let cli = parse(&["send-message", "r", "me", "-", "and", "more"]).unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!()
    };
    assert_eq!(
        send.split().unwrap(),
        (
            Some("me".to_owned()),
            ContentSource::Inline("- and more".into())
        )
    );
}

#[test]
fn send_file_excludes_inline_content() {
    let cli = parse(&["send-message", "r", "me", "--file", "a.md"]).unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!()
    };
    assert_eq!(
        send.split().unwrap(),
        (Some("me".to_owned()), ContentSource::File("a.md".into()))
    );

    let cli = parse(&["send-message", "r", "me", "--file", "a.md", "text"]).unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!()
    };
    assert_eq!(
        send.split().unwrap_err(),
        "with --file, give at most a sender before it, not text too (got 2 words)"
    );
    let err = parse(&["send-message", "r"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
}

fn split(args: &[&str]) -> Result<(Option<String>, ContentSource), String> {
    let mut line = vec!["send-message", "room"];
    line.extend(args);
    let Command::SendMessage(send) = parse(&line).unwrap().command else {
        panic!()
    };
    send.split()
}

#[test]
fn one_word_after_the_room_is_content_sent_as_the_token_handle() {
    assert_eq!(
        split(&["hello @ada, done"]).unwrap(),
        (None, ContentSource::Inline("hello @ada, done".into()))
    );
    assert_eq!(split(&["-"]).unwrap(), (None, ContentSource::Stdin));
    assert_eq!(
        split(&["--file", "a.md"]).unwrap(),
        (None, ContentSource::File("a.md".into()))
    );
    assert_eq!(
        split(&["--", "-1 is the answer"]).unwrap(),
        (None, ContentSource::Inline("-1 is the answer".into()))
    );
    // The old three-argument form is unchanged.
    assert_eq!(
        split(&["claude", "hello"]).unwrap(),
        (Some("claude".into()), ContentSource::Inline("hello".into()))
    );
}

#[test]
fn send_validates_color_and_sender_type() {
    let cli = parse(&[
        "send-message",
        "r",
        "ada",
        "--sender-type",
        "human",
        "--color",
        "#AABBCC",
        "hi",
    ])
    .unwrap();
    let Command::SendMessage(send) = cli.command else {
        panic!()
    };
    assert_eq!(send.sender_type, SenderKind::Human);
    assert_eq!(send.color.as_deref(), Some("#aabbcc"));

    let err = parse(&["send-message", "r", "a", "--color", "red", "hi"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
    let err = parse(&["send-message", "r", "a", "--sender-type", "robot", "hi"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    let err = parse(&["send-message", "r", "a", "--idempotency-key", "é", "hi"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueValidation);
}

#[test]
fn listen_takes_repeated_excludes_count_and_timeout() {
    let cli = parse(&[
        "listen",
        "room",
        "--exclude",
        "me",
        "--exclude",
        "bot",
        "--count",
        "3",
        "--timeout",
        "60",
        "--after",
        "m1",
    ])
    .unwrap();
    let Command::Listen(listen) = cli.command else {
        panic!()
    };
    assert_eq!(listen.exclude, vec!["me", "bot"]);
    assert_eq!(listen.count, Some(3));
    assert_eq!(listen.timeout, Some(60));
    assert_eq!(listen.after.as_deref(), Some("m1"));
    assert_eq!(listen.transport, TransportArg::Auto);
    assert_eq!(listen.mentions, None);
    let Command::Listen(listen) = parse(&["listen", "r", "--mentions", "ada"])
        .unwrap()
        .command
    else {
        panic!()
    };
    assert_eq!(listen.mentions.as_deref(), Some("ada"));

    for (flag, want) in [
        ("auto", TransportArg::Auto),
        ("sse", TransportArg::Sse),
        ("ws", TransportArg::Ws),
    ] {
        let cli = parse(&["listen", "room", "--transport", flag]).unwrap();
        let Command::Listen(listen) = cli.command else {
            panic!()
        };
        assert_eq!(listen.transport, want);
    }
    assert_eq!(
        parse(&["listen", "room", "--transport", "carrier-pigeon"])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidValue
    );

    for bad in [["--count", "0"], ["--timeout", "0"], ["--count", "-1"]] {
        let mut args = vec!["listen", "room"];
        args.extend(bad);
        assert!(parse(&args).is_err(), "{bad:?}");
    }
}

#[test]
fn poll_limit_is_bounded() {
    let cli = parse(&["poll", "r", "--limit", "500", "--after", "x"]).unwrap();
    let Command::Poll(poll) = cli.command else {
        panic!()
    };
    assert_eq!(poll.limit, Some(500));
    assert_eq!(poll.after.as_deref(), Some("x"));
    assert!(parse(&["poll", "r", "--limit", "501"]).is_err());
    assert!(parse(&["poll", "r", "--limit", "0"]).is_err());
}

#[test]
fn global_flags_go_anywhere() {
    let cli = parse(&["rooms", "--json", "--url", "http://x", "--key", "k"]).unwrap();
    assert!(cli.json);
    assert_eq!(cli.url.as_deref(), Some("http://x"));
    assert_eq!(cli.key.as_deref(), Some("k"));
    let cli = parse(&["--json", "create-room", "two", "words"]).unwrap();
    let Command::CreateRoom { name } = cli.command else {
        panic!()
    };
    assert_eq!(name.join(" "), "two words");
}

#[test]
fn usage_errors_and_help() {
    assert_eq!(
        parse(&["nope"]).unwrap_err().kind(),
        ErrorKind::InvalidSubcommand
    );
    assert_eq!(
        parse(&["create-room"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse(&["listen", "--help"]).unwrap_err().kind(),
        ErrorKind::DisplayHelp
    );
}

#[test]
fn wait_takes_as_any_timeout_follow_and_no_ack() {
    let Command::Wait(wait) = parse(&["wait", "r"]).unwrap().command else {
        panic!()
    };
    assert_eq!(wait.room, "r");
    assert_eq!(wait.as_handle, None);
    assert!(!wait.any && !wait.follow && !wait.no_ack);
    assert_eq!(wait.timeout, None);
    let Command::Wait(wait) = parse(&[
        "wait",
        "r",
        "--as",
        "claude",
        "--any",
        "--timeout",
        "2",
        "--follow",
    ])
    .unwrap()
    .command
    else {
        panic!()
    };
    assert_eq!(wait.as_handle.as_deref(), Some("claude"));
    assert!(wait.any && wait.follow);
    assert_eq!(wait.timeout, Some(2));
    assert_eq!(
        parse(&["wait", "r", "--follow", "--no-ack"])
            .unwrap_err()
            .kind(),
        ErrorKind::ArgumentConflict
    );
    assert!(parse(&["wait", "r", "--timeout", "0"]).is_err());
    assert!(parse(&["wait"]).is_err());
}

#[test]
fn member_commands_parse() {
    use super::members::RoleArg as Role;
    let Command::Invite(invite) = parse(&["invite", "r", "ada", "--role", "human"])
        .unwrap()
        .command
    else {
        panic!()
    };
    assert_eq!((invite.room.as_str(), invite.handle.as_str()), ("r", "ada"));
    assert_eq!(invite.role, Role::Human);
    let Command::Invite(invite) = parse(&["invite", "r", "bot"]).unwrap().command else {
        panic!()
    };
    assert_eq!(invite.role, Role::Agent);
    assert_eq!(
        parse(&["invite", "r", "x", "--role", "owner"])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidValue
    );
    assert!(matches!(
        parse(&["members", "r"]).unwrap().command,
        Command::Members { room } if room == "r"
    ));
    assert!(matches!(
        parse(&["remove-member", "r", "ada"]).unwrap().command,
        Command::RemoveMember(MemberArgs { room, handle }) if room == "r" && handle == "ada"
    ));
    assert!(matches!(
        parse(&["reissue-token", "r", "ada"]).unwrap().command,
        Command::ReissueToken(MemberArgs { handle, .. }) if handle == "ada"
    ));
    assert_eq!(
        parse(&["remove-member", "r"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
    let Command::Read(read) = parse(&["read", "r", "--through", "m1"]).unwrap().command else {
        panic!()
    };
    assert_eq!((read.through.as_str(), read.as_handle), ("m1", None));
    assert_eq!(
        parse(&["read", "r"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
    let Command::Inbox(inbox) = parse(&["inbox", "r", "--as", "ada", "--limit", "5"])
        .unwrap()
        .command
    else {
        panic!()
    };
    assert_eq!(inbox.as_handle.as_deref(), Some("ada"));
    assert_eq!(inbox.limit, Some(5));
    assert!(matches!(
        parse(&["whoami"]).unwrap().command,
        Command::Whoami
    ));
}

#[test]
fn auto_follows_the_health_announcement_and_ws_requires_it() {
    let base = "http://127.0.0.1:9";
    assert_eq!(choose(TransportArg::Auto, true, base), Ok(Chosen::Ws));
    assert_eq!(choose(TransportArg::Auto, false, base), Ok(Chosen::Sse));
    assert_eq!(choose(TransportArg::Sse, true, base), Ok(Chosen::Sse));
    assert_eq!(choose(TransportArg::Sse, false, base), Ok(Chosen::Sse));
    assert_eq!(choose(TransportArg::Ws, true, base), Ok(Chosen::Ws));
    let refused = choose(TransportArg::Ws, false, base).unwrap_err();
    assert_eq!(refused.exit_code(), 8);
    assert!(
        refused
            .message
            .starts_with("the server at http://127.0.0.1:9 does not offer WebSocket"),
        "{}",
        refused.message
    );
    assert!(!refused.message.contains('\n'));
}
