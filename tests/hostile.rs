//! Hostile input, as careless people and strangers send it: SQL metacharacters, control and
//! invisible characters and 100 KB texts in every field a person can fill; client users trying
//! every team-only command; forged, replayed and oversized Slack requests. Every refusal is one
//! clear line (or an HTTP status), nothing panics, a request is never lost, and nothing is stored
//! from what was refused. On SQLite and PostgreSQL (which refuses NUL in text).

mod support;

use std::sync::Arc;
use std::time::Duration;

use keel::command::{Allowed, SPECS};
use keel::domain::is_unprintable;
use keel::service::dispatch::Dispatcher;
use keel::service::ingest::Ingest;
use keel::service::{Keel, Settings};
use keel::store::Store;
use keel_chat::Adapter;
use keel_fake_slack::FakeSlack;
use serde_json::{json, Value};
use support::{events, keel, tasks_json, TestDb};
use tokio::sync::Notify;

const NOW: &str = "2026-11-24T15:00:00Z";

/// Text that breaks careless SQL: quotes, comments, backslashes, LIKE wildcards.
const SQL: &[&str] = &[
    "'; DROP TABLE tasks;--",
    "\" OR 1=1 --",
    "back\\slash \\' \\\" \\0",
    "100% of _all_ rows",
    "%_%",
];

/// Ordinary words with control and invisible characters inside: NUL, a carriage return, an
/// ANSI colour escape, a right-to-left override, zero-width spaces.
const CONTROL: &[&str] = &[
    "nul\0byte",
    "carriage\rreturn",
    "escape \x1b[31mred\x1b[0m",
    "rtl \u{202e}txet",
    "zero\u{200b}width\u{feff}space",
];

/// [`CONTROL`] as keel echoes it on one line: control characters as spaces, invisible ones gone.
const CONTROL_SHOWN: &[&str] = &[
    "nul byte",
    "carriage return",
    "escape  [31mred [0m",
    "rtl txet",
    "zerowidthspace",
];

/// Every hostile sample, in order.
fn hostile() -> Vec<&'static str> {
    SQL.iter().chain(CONTROL).copied().collect()
}

/// A 100 KB message on one line, the kind a client pastes from a log.
fn hundred_kb() -> String {
    let sentence = "The invoice export fails for every customer whose name has an umlaut (ö, ä, ü).";
    vec![sentence; 100 * 1024 / sentence.len() + 1].join(" ")
}

/// A team on a fresh database: grouping of client messages off (each message its own request),
/// clients acme (#acme) and globex (#globex), lea their admin.
struct Team {
    db: TestDb,
    config: tempfile::TempDir,
}

impl Team {
    fn new(backend: &str) -> Team {
        let config = tempfile::tempdir().expect("dir");
        std::fs::write(config.path().join("keel.toml"), "[capture]\ngroup_minutes = 0\n").expect("config");
        let team = Team {
            db: TestDb::new(backend),
            config,
        };
        let out = team.say(
            &["--as", "lea"],
            &[
                "client add acme \"Acme Corp\" #acme",
                "client add globex \"Globex\" #globex",
            ],
        );
        assert!(out[1].contains("client globex added"), "{out:?}");
        team
    }

    /// `keel chat` as `who`, one line each; returns keel's lines, each checked to be one line
    /// with nothing unprintable in it.
    fn say(&self, who: &[&str], lines: &[&str]) -> Vec<String> {
        let config = self.config.path().join("keel.toml");
        let mut args = vec!["chat", "--db", &self.db.url, "--now", NOW, "--config"];
        let config = config.to_str().expect("utf-8 path");
        args.push(config);
        args.extend_from_slice(who);
        let mut input = lines.join("\n");
        input.push('\n');
        let out = keel(&args, &input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "keel chat failed: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
        let said: Vec<String> = stdout.lines().map(str::to_string).collect();
        for line in &said {
            assert!(line.starts_with('['), "a reply of more than one line: {stdout:?}");
            assert!(
                !line.chars().any(is_unprintable),
                "an unprintable character in {line:?}"
            );
            assert!(!line.contains("could not take"), "{line}");
        }
        said
    }

    /// lea's one-line answer to each line, in her direct conversation with keel.
    fn lea(&self, lines: &[&str]) -> Vec<String> {
        let out = self.say(&["--as", "lea"], lines);
        assert_eq!(out.len(), lines.len(), "one answer per line: {out:?}");
        out
    }

    fn tasks(&self) -> Vec<Value> {
        tasks_json(&self.db)
    }

    fn events(&self) -> Vec<Value> {
        events(&self.db)
    }

    fn clients(&self) -> Vec<Value> {
        let out = keel(&["clients", "list", "--db", &self.db.url, "--format", "json"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("clients list prints JSON")
    }

    /// Everything keel stores, read back as the operator would (and people, schedules and
    /// holidays straight from the tables).
    fn everything(&self) -> (Vec<Value>, Vec<Value>, Vec<Value>, Vec<Vec<String>>) {
        (self.tasks(), self.events(), self.clients(), tables(&self.db))
    }
}

/// The rows of the tables no command line shows, as text.
fn tables(db: &TestDb) -> Vec<Vec<String>> {
    const QUERIES: &[&str] = &[
        "SELECT name || '|' || role || '|' || COALESCE(tz, '') || '|' || CAST(work_start AS TEXT) || '-' \
         || CAST(work_end AS TEXT) || '|' || COALESCE(CAST(away_until AS TEXT), '') FROM members ORDER BY id",
        "SELECT adapter || '|' || platform_id || '|' || name FROM contacts ORDER BY platform_id",
        "SELECT adapter || '|' || channel FROM client_channels ORDER BY channel",
        "SELECT day || '|' || name FROM holidays ORDER BY day",
        "SELECT cron || '|' || questions || '|' || CAST(active AS TEXT) FROM standups ORDER BY id",
        "SELECT standup_id || '|' || day FROM standup_skips ORDER BY day",
        "SELECT key FROM jobs ORDER BY key",
        "SELECT CAST(COUNT(*) AS TEXT) FROM surveys",
    ];
    let url = db.url.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.expect("database");
            let mut all = Vec::new();
            for query in QUERIES {
                let rows: Vec<String> = sqlx::query_scalar(*query)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{query}: {e}"));
                all.push(rows);
            }
            all
        })
    })
    .join()
    .expect("reading the tables")
}

/// The events of one kind, in order.
fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

on_both_backends!(a_request_is_kept_whole_whatever_it_holds, |backend| {
    let team = Team::new(backend);
    let big = hundred_kb();
    // bob, of acme, writes each sample as a request in the shared channel (auto-capture).
    let asked: Vec<String> = hostile()
        .iter()
        .map(|s| format!("Please look at this: {s}"))
        .chain(std::iter::once(big.clone()))
        .collect();
    let lines: Vec<&str> = asked.iter().map(String::as_str).collect();
    let out = team.say(&["--as", "bob", "--client", "acme", "--channel", "acme"], &lines);
    assert_eq!(out.len(), asked.len(), "{out:?}");
    for (n, line) in out.iter().enumerate() {
        assert!(
            line.starts_with(&format!("[#acme] keel: #{} opened: \"", n + 1)),
            "{line}"
        );
    }
    assert!(
        out.last().is_some_and(|l| l.chars().count() < 400),
        "a short answer to 100 KB"
    );
    // lea tracks each sample herself.
    let tracked: Vec<String> = hostile()
        .iter()
        .map(|s| s.to_string())
        .chain(std::iter::once(big.clone()))
        .map(|s| format!("track {s}"))
        .collect();
    let lines: Vec<&str> = tracked.iter().map(String::as_str).collect();
    let out = team.lea(&lines);
    let first = asked.len() + 1;
    for (n, line) in out.iter().enumerate() {
        assert!(
            line.starts_with(&format!("[@lea] keel: #{} opened: ", first + n)),
            "{line}"
        );
    }

    let tasks = team.tasks();
    assert_eq!(tasks.len(), asked.len() + tracked.len(), "every request is a task");
    let said: Vec<String> = asked
        .iter()
        .cloned()
        .chain(hostile().iter().map(|s| s.to_string()))
        .chain(std::iter::once(big.clone()))
        .collect();
    let created = of_kind(&team.events(), "created")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(created.len(), said.len());
    for ((task, event), text) in tasks.iter().zip(&created).zip(&said) {
        assert_eq!(
            event["data"]["text"],
            json!(text),
            "the request is stored as it was said"
        );
        assert_eq!(event["task"], task["id"]);
        let title = task["title"].as_str().expect("title");
        assert!(!title.chars().any(is_unprintable), "{title:?}");
        assert!(!title.is_empty() && title.chars().count() <= 121, "{title:?}");
    }
    for (task, s) in tasks[..SQL.len()].iter().zip(SQL) {
        assert_eq!(task["title"], json!(format!("Please look at this: {s}")));
        assert_eq!(task["client"], "acme");
        assert_eq!(task["source"], "auto");
    }
    let long = &tasks[asked.len() - 1];
    assert!(
        long["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("The invoice export fails") && t.ends_with('…')),
        "{long}"
    );
    for (task, s) in tasks[asked.len()..].iter().zip(SQL) {
        assert_eq!(task["title"], json!(s), "tracked as typed");
    }
    assert_eq!(tasks.last().map(|t| &t["title"]), Some(&long["title"]));
    // The tables are all there, and what they hold still reads.
    assert_eq!(tables(&team.db).len(), 8);
});

on_both_backends!(
    notes_and_reasons_are_kept_as_written_up_to_10000_characters,
    |backend| {
        let team = Team::new(backend);
        team.say(&["--as", "max"], &["hello"]);
        team.lea(&["role @max lead", "track renew the portal certificate"]);
        let mut lines = Vec::new();
        for s in hostile() {
            lines.push(format!("note #1 {s}"));
            lines.push(format!("done #1 {s}"));
            lines.push("reopen #1".to_string());
            lines.push(format!("cancel #1 {s}"));
            lines.push("reopen #1".to_string());
            lines.push(format!("escalate #1 {s}"));
        }
        let out = team.say(&["--as", "lea"], &lines.iter().map(String::as_str).collect::<Vec<_>>());
        let (to_lea, to_max): (Vec<&String>, Vec<&String>) = out.iter().partition(|l| l.starts_with("[@lea]"));
        assert_eq!(to_lea.len(), lines.len(), "{out:?}");
        let shown: Vec<&str> = SQL.iter().chain(CONTROL_SHOWN).copied().collect();
        for (answer, shown) in to_lea.chunks(6).zip(shown) {
            assert_eq!(answer[0], "[@lea] keel: #1 note added");
            assert_eq!(answer[1], &format!("[@lea] keel: #1 done: {shown}"));
            assert_eq!(answer[2], "[@lea] keel: #1 open");
            assert_eq!(answer[3], &format!("[@lea] keel: #1 cancelled: {shown}"));
            assert_eq!(answer[5], "[@lea] keel: #1 escalated to @max");
        }
        assert_eq!(to_max.len(), hostile().len(), "max hears of each escalation");
        assert!(to_max[0].starts_with("[@max] keel: #1 escalated by lea: '; DROP TABLE tasks;--"));

        // The limit is 10,000 characters: that many is a note, one more is refused.
        let most = "n".repeat(10_000);
        let big = hundred_kb();
        let before = team.everything();
        let over: Vec<String> = vec![
            format!("note #1 {most}x"),
            format!("note #1 {big}"),
            format!("done #1 {big}"),
            format!("cancel #1 {big}"),
            format!("escalate #1 {big}"),
        ];
        let out = team.lea(&over.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            out[0],
            "[@lea] keel: a note can be at most 10,000 characters (this one has 10,001) (usage: note #N <text>)"
        );
        let chars = big.chars().count();
        let count = format!("(this one has {},{:03})", chars / 1000, chars % 1000);
        assert!(
            out[1].contains(&format!("a note can be at most 10,000 characters {count}")),
            "{}",
            out[1]
        );
        assert!(
            out[2].contains("a note can be at most 10,000") && out[2].contains("usage: done"),
            "{}",
            out[2]
        );
        assert!(out[3].contains("a reason can be at most 10,000"), "{}", out[3]);
        assert!(out[4].contains("a reason can be at most 10,000"), "{}", out[4]);
        assert_eq!(team.everything(), before, "nothing stored from a refused note");
        let out = team.lea(&[&format!("note #1 {most}")]);
        assert_eq!(out, ["[@lea] keel: #1 note added"]);

        let events = team.events();
        let notes: Vec<&Value> = of_kind(&events, "note").iter().map(|e| &e["data"]["text"]).collect();
        let mut expected: Vec<Value> = hostile().iter().map(|s| json!(s)).collect();
        expected.push(json!(most));
        assert_eq!(
            notes,
            expected.iter().collect::<Vec<_>>(),
            "notes are stored as written"
        );
        let statuses = of_kind(&events, "status");
        let noted = |to: &str| -> Vec<Value> {
            statuses
                .iter()
                .filter(|e| e["data"]["to"] == to)
                .map(|e| e["data"]["note"].clone())
                .collect()
        };
        let samples: Vec<Value> = hostile().iter().map(|s| json!(s)).collect();
        assert_eq!(noted("done"), samples);
        assert_eq!(noted("cancelled"), samples);
        let why: Vec<Value> = of_kind(&events, "escalated")
            .iter()
            .map(|e| e["data"]["text"].clone())
            .collect();
        assert_eq!(why, samples);
        // The card is its fields and then one line per event, each clean and short.
        let config = team.config.path().join("keel.toml");
        let card = support::chat(
            &team.db,
            NOW,
            &["--as", "lea", "--config", config.to_str().expect("utf-8 path")],
            "show #1\n",
        );
        let card: Vec<&str> = card.lines().collect();
        assert_eq!(card.len(), 2 + events.len(), "{card:#?}");
        assert!(card[0].starts_with("[@lea] keel: #1 open — renew the portal certificate"));
        for line in &card[1..] {
            assert!(line.starts_with("    "), "{line:?}");
            assert!(
                !line.chars().any(is_unprintable) && line.chars().count() < 300,
                "{line:?}"
            );
        }
    }
);

on_both_backends!(
    names_keys_channels_and_labels_are_printable_or_refused_in_one_line,
    |backend| {
        let team = Team::new(backend);
        let big = hundred_kb();
        let word = "k".repeat(100 * 1024);
        let before = team.everything();
        let mut refused: Vec<(String, &str)> = Vec::new();
        for key in [
            "acme';--",
            "'; DROP TABLE tasks;--",
            "ac%me",
            "ac_me",
            "ac\\me",
            "nul\0key",
            "ac\u{202e}me",
        ] {
            refused.push((format!("client add {key} \"Fine Name\""), "is not a client key"));
        }
        refused.push((format!("client add {word} \"Fine Name\""), "is not a client key"));
        for name in CONTROL {
            refused.push((
                format!("client add fine \"{name}\""),
                "the client's name must be 1 to 200 printable characters",
            ));
        }
        refused.push((
            format!("client add fine \"{big}\""),
            "the client's name must be 1 to 200 printable characters",
        ));
        for channel in [
            "#';",
            "#a\0b:example.org",
            "#rtl\u{202e}:example.org",
            "!room\0id:example.org",
            "<#C1\0|x>",
        ] {
            refused.push((format!("client add fine \"Fine\" {channel}"), "is not a channel"));
        }
        refused.push((format!("client add fine \"Fine\" #{word}"), "is not a channel"));
        for q in CONTROL {
            refused.push((
                format!("standup set \"0 9 * * 1-5\" questions \"{q}\" in #standup"),
                "each question must be 1 to 200 printable characters",
            ));
        }
        refused.push((
            format!("standup set \"0 9 * * 1-5\" questions \"{big}\" in #standup"),
            "each question must be 1 to 200 printable characters",
        ));
        refused.push((
            "standup set \"'; DROP TABLE tasks;--\" in #standup".into(),
            "is not a cron schedule",
        ));
        refused.push((format!("standup set \"{big}\" in #standup"), "is not a cron schedule"));
        for name in CONTROL {
            refused.push((
                format!("holiday add 2026-12-24 {name}"),
                "a holiday's name can be at most 100 printable characters",
            ));
        }
        refused.push((
            format!("holiday add 2026-12-24 {big}"),
            "a holiday's name can be at most 100 printable characters",
        ));
        for who in ["@le\u{202e}a", "@nul\0byte", "@zero\u{200b}width"] {
            refused.push((format!("list {who}"), "I did not understand"));
            refused.push((format!("assign #1 {who}"), "is not a person"));
            refused.push((format!("role {who} lead"), "is not a person"));
            refused.push((format!("meet {who} 30m"), "I don't know"));
        }
        refused.push(("assign #1 @o'neil;--".into(), "I don't know @o'neil"));
        refused.push(("survey nps a\0b".into(), "is not a client key"));
        refused.push(("survey nps '; DROP TABLE tasks;--".into(), "is not a client key"));
        refused.push(("playbook run onboarding for a\0b".into(), "is not a client key"));
        refused.push(("playbook run x\0y for acme".into(), "there is no playbook \"x y\""));
        let lines: Vec<&str> = refused.iter().map(|(l, _)| l.as_str()).collect();
        let out = team.lea(&lines);
        for ((line, expected), answer) in refused.iter().zip(&out) {
            assert!(
                answer.contains(expected),
                "{:?} was answered {answer:?}",
                keel::domain::truncate(line, 60)
            );
            assert!(answer.chars().count() < 400, "{answer}");
        }
        assert_eq!(team.everything(), before, "nothing stored from a refused command");

        // SQL metacharacters are just characters in a name, a question or a holiday.
        let out = team.lea(&[
            "client add sqlco \"'; DROP TABLE tasks;--\" #sql-co",
            "client add pct “100% _under_ \\ back\\slash”",
            "standup set \"0 9 * * 1-5\" questions \"'; DROP TABLE tasks;--\" \"100% _done_?\" in #standup",
            "holiday add 2026-12-24 '; DROP TABLE tasks;--",
            "holiday add 2026-12-31 100% _off_ \\o/",
            "holiday list",
        ]);
        assert_eq!(
            out[0],
            "[@lea] keel: client sqlco added: '; DROP TABLE tasks;-- · channels #sql-co"
        );
        assert!(
            out[1].contains("client pct added: 100% _under_ \\ back\\slash"),
            "{}",
            out[1]
        );
        assert!(
            out[2].contains("standup set:") && out[2].contains("2 questions"),
            "{}",
            out[2]
        );
        assert!(
            out[3].contains("holiday on Thu 24 Dec 2026 ('; DROP TABLE tasks;--)"),
            "{}",
            out[3]
        );
        assert_eq!(
            out[5],
            "[@lea] keel: holidays: 2026-12-24 '; DROP TABLE tasks;-- · 2026-12-31 100% _off_ \\o/"
        );
        let names: Vec<Value> = team.clients().iter().map(|c| c["name"].clone()).collect();
        assert_eq!(
            names,
            [
                json!("Acme Corp"),
                json!("Globex"),
                json!("100% _under_ \\ back\\slash"),
                json!("'; DROP TABLE tasks;--")
            ],
            "stored as typed (listed by key)"
        );
        assert_eq!(
            tables(&team.db)[3],
            ["2026-12-24|'; DROP TABLE tasks;--", "2026-12-31|100% _off_ \\o/"],
            "holidays are named as typed"
        );
        let standups = &tables(&team.db)[4];
        assert_eq!(
            standups,
            &[format!(
                "0 9 * * 1-5|{}|1",
                json!(["'; DROP TABLE tasks;--", "100% _done_?"])
            )],
        );
        assert_eq!(team.tasks().len(), 0, "the tasks table is still there, and empty");
    }
);

on_both_backends!(
    dates_zones_hours_and_periods_from_hostile_text_are_refused_in_one_line,
    |backend| {
        let team = Team::new(backend);
        team.lea(&["track renew the portal certificate", "away until friday"]);
        let before = team.everything();
        let big = hundred_kb();
        let mut samples: Vec<String> = hostile().iter().map(|s| s.to_string()).collect();
        samples.push(big.clone());
        let mut asked: Vec<(String, &str)> = Vec::new();
        for s in &samples {
            asked.push((format!("due #1 {s}"), "is not a date I understand"));
            asked.push((format!("snooze #1 {s}"), "is not a date I understand"));
            asked.push((format!("away until {s}"), "is not a date I understand"));
            asked.push((format!("client signed acme {s}"), "is not a date I understand"));
            asked.push((format!("standup skip {s}"), "is not a date I understand"));
            asked.push((format!("holiday add {s}"), ""));
            asked.push((format!("holiday remove {s}"), ""));
            asked.push((format!("tz {s}"), "is not a time zone"));
            asked.push((format!("hours {s}"), "are not working hours"));
            asked.push((format!("kpi {s}"), "is not a period"));
            asked.push((format!("help {s}"), "there is no command"));
            asked.push((format!("priority #1 {s}"), "is not a priority"));
            asked.push((format!("show #1 {s}"), "I did not expect"));
        }
        let lines: Vec<&str> = asked.iter().map(|(l, _)| l.as_str()).collect();
        let out = team.lea(&lines);
        for ((line, expected), answer) in asked.iter().zip(&out) {
            assert!(
                answer.contains(expected),
                "{:?} was answered {answer:?}",
                keel::domain::truncate(line, 60)
            );
            assert!(answer.chars().count() < 400, "{answer}");
            assert!(
                !answer.contains("opened") && !answer.contains("away until F"),
                "{answer}"
            );
        }
        assert_eq!(team.everything(), before, "nothing changed");
    }
);

on_both_backends!(hostile_speaker_names_never_lose_a_request, |backend| {
    let team = Team::new(backend);
    let long_name = "x".repeat(100 * 1024);
    let script = format!(
        "/as ev\x1b[31me --client acme\nThe export is broken (one)\n\
         /as ev\u{202e}e --client acme\nThe export is broken (two)\n\
         /as {long_name} --client acme\nThe export is broken (three)\n\
         /as o'brien;--drop --client acme\nThe export is broken (four)\n\
         /join o'neil;--drop\nThe export is broken (five)"
    );
    // A console channel named so that no command can name it is linked behind keel's back: the
    // request there must still arrive whole.
    support::runtime().block_on(async {
        let store = Store::open(&team.db.url).await.expect("store");
        let mut conn = store.pool().acquire().await.expect("conn");
        let acme = keel::store::people::client_by_key(&mut conn, "acme")
            .await
            .expect("read")
            .expect("acme");
        keel::store::people::link_channel(&mut conn, "console", "o'neil;--drop", acme.id)
            .await
            .expect("link");
    });
    let out = team.say(&["--as", "lea", "--channel", "acme"], &[&script]);
    let opened = out.iter().filter(|l| l.contains(" opened: ")).count();
    assert_eq!(opened, 5, "every request is a task: {out:?}");
    let tasks = team.tasks();
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    assert_eq!(tasks[4]["channel"], "o'neil;--drop", "a channel named as typed");
    for task in &tasks {
        let requester = task["requester"].as_str().expect("requester");
        assert!(!requester.chars().any(is_unprintable), "{requester:?}");
        assert!(
            !requester.is_empty() && requester.chars().count() <= 100,
            "{requester:?}"
        );
        assert_eq!(task["client"], "acme", "{task}");
    }
    let requesters: Vec<&Value> = tasks.iter().map(|t| &t["requester"]).collect();
    assert_eq!(
        requesters,
        [
            &json!("ev [31me"),
            &json!("eve"),
            &json!("x".repeat(100)),
            &json!("o'brien;--drop"),
            &json!("o'brien;--drop")
        ]
    );
    for event in team.events() {
        let actor = event["actor"].as_str().expect("actor");
        assert!(
            !actor.chars().any(is_unprintable) && actor.chars().count() <= 100,
            "{actor:?}"
        );
    }
});

on_both_backends!(console_names_with_nul_never_lose_a_request, |backend| {
    // PostgreSQL refuses NUL in text, so a NUL in a name or a channel that reached the database
    // would lose the request. The console may refuse such a name (one line) or clean it; either
    // way the request that follows is a task, and every name stored is clean.
    let team = Team::new(backend);
    let config = team.config.path().join("keel.toml");
    let config = config.to_str().expect("utf-8 path");
    let script = "/as bo\0b --client acme\nThe export is broken (one)\n\
                  /as carl --client ac\0me\nThe export is broken (two)\n\
                  /as dora --client acme\n/join ac\0me\nThe export is broken (three)\n";
    let args = [
        "chat",
        "--db",
        &team.db.url,
        "--now",
        NOW,
        "--config",
        config,
        "--as",
        "eve",
        "--client",
        "acme",
        "--channel",
        "acme",
    ];
    let out = keel(&args, script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("could not take"), "{stdout}");
    assert!(!stdout.chars().any(|c| c == '\0'), "{stdout:?}");
    let tasks = team.tasks();
    assert_eq!(tasks.len(), 3, "every request is a task: {stdout}");
    for task in &tasks {
        for field in ["requester", "channel"] {
            let value = task[field].as_str().expect("text");
            assert!(!value.chars().any(is_unprintable), "{field} {value:?}");
        }
    }
});

/// A valid way for a client user to run each team-only command (by the command's name).
const TEAM_ONLY: &[(&str, &str)] = &[
    ("show", "show #2"),
    ("assign", "assign #1 @lea"),
    ("take", "take #1"),
    ("start", "start #1"),
    ("wait", "wait #1"),
    ("done", "done #1 fixed it myself"),
    ("cancel", "cancel #1 never mind"),
    ("reopen", "reopen #3"),
    ("due", "due #1 tomorrow"),
    ("priority", "priority #1 urgent"),
    ("note", "note #1 call me"),
    ("reply", "reply #1 all done"),
    ("snooze", "snooze #1 friday"),
    ("escalate", "escalate #1 nobody answers"),
    ("client add", "client add evil \"Evil Corp\" #evil"),
    ("client list", "client list"),
    ("client show", "client show globex"),
    ("client owner", "client owner acme @bob"),
    ("client channel", "client channel acme add #evil"),
    ("client email", "client email acme evil.example"),
    ("client rename", "client rename acme \"Evil Corp\""),
    ("client sla", "client sla acme urgent 1m 1m"),
    ("client signed", "client signed acme"),
    ("client live", "client live acme 2026-11-01"),
    ("client churned", "client churned globex"),
    ("away", "away until friday"),
    ("back", "back"),
    ("tz", "tz Europe/Berlin"),
    ("hours", "hours 08:00-12:00"),
    ("role", "role @bob admin"),
    ("standup set", "standup set \"0 9 * * 1-5\" in #acme"),
    ("standup now", "standup now"),
    ("standup skip", "standup skip tomorrow"),
    ("standup off", "standup off"),
    ("meet", "meet @lea 30m"),
    ("playbook run", "playbook run onboarding for acme"),
    ("playbook list", "playbook list"),
    ("survey nps", "survey nps acme"),
    ("kpi weekly", "kpi weekly here"),
    ("kpi", "kpi"),
    ("dashboard", "dashboard"),
    ("holiday add", "holiday add 2026-12-24 Christmas Eve"),
    ("holiday list", "holiday list"),
    ("holiday remove", "holiday remove 2026-12-25"),
];

#[test]
fn every_team_only_command_has_a_hostile_case() {
    let team_only: Vec<&str> = SPECS
        .iter()
        .filter(|s| s.allowed != Allowed::Everyone)
        .map(|s| s.name)
        .collect();
    let covered: Vec<&str> = TEAM_ONLY.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        covered, team_only,
        "TEAM_ONLY lists every team-only command, in the table's order"
    );
}

on_both_backends!(client_users_are_refused_every_team_command_in_one_line, |backend| {
    let team = Team::new(backend);
    // Work a client might want to meddle with: acme's request #1, globex's #2, a done #3, a
    // standup, a holiday, an onboarding under way.
    team.say(
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        &["The invoice export is broken"],
    );
    team.say(
        &["--as", "carol", "--client", "globex", "--channel", "globex"],
        &["Our logo is missing on the portal"],
    );
    team.lea(&[
        "track call bob about the renewal for acme",
        "done #3",
        "standup set \"0 9 * * 1-5\" in #standup",
        "holiday add 2026-12-25 Christmas",
        "client signed acme 2026-10-01",
    ]);
    let before = team.everything();
    let spec = |name: &str| SPECS.iter().find(|s| s.name == name).expect("a command");
    let mut asked: Vec<(String, String)> = TEAM_ONLY
        .iter()
        .map(|(name, text)| (text.to_string(), format!("only team members can {}", spec(name).does)))
        .collect();
    for (text, why) in [
        ("list for globex", "only team members can list other clients' tasks"),
        ("list all for globex", "only team members can list other clients' tasks"),
    ] {
        asked.push((text.to_string(), why.to_string()));
    }
    // In the shared channel (@keel …) and as a slash command, both answered to bob alone, and in
    // his direct conversation with keel.
    let mentioned: Vec<String> = asked.iter().map(|(t, _)| format!("@keel {t}")).collect();
    let slashed: Vec<String> = asked.iter().map(|(t, _)| format!("/keel {t}")).collect();
    let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
    for (lines, place) in [
        (&mentioned, "[#acme only to @bob] keel: "),
        (&slashed, "[#acme only to @bob] keel: "),
    ] {
        let out = team.say(&bob, &lines.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.len(), asked.len(), "{out:?}");
        for ((text, why), answer) in asked.iter().zip(&out) {
            assert_eq!(answer, &format!("{place}{why}"), "{text}");
        }
    }
    let direct: Vec<&str> = asked.iter().map(|(t, _)| t.as_str()).collect();
    let out = team.say(&["--as", "bob", "--client", "acme"], &direct);
    for ((text, why), answer) in asked.iter().zip(&out) {
        assert_eq!(answer, &format!("[@bob] keel: {why}"), "{text}");
    }
    assert_eq!(team.everything(), before, "a refused command changes nothing");
    // What a client may do still works: his own client's open requests.
    let out = team.say(&bob, &["@keel list", "@keel list for acme"]);
    assert!(out[0].starts_with("[#acme] keel: #1 open"), "{out:?}");
    assert!(!out.iter().any(|l| l.contains("#2") || l.contains("#3")), "{out:?}");
});

// ---------------------------------------------------------------------------------------------
// Slack's Events API.

const TOKEN: &str = "xoxb-test-token";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// keel with the Slack adapter behind its Events API endpoints (on a free port), delivering
/// through the fake Slack; returns the endpoints' base URL and keel's store.
async fn keel_behind_the_events_api(db: &TestDb, fake: &FakeSlack) -> (String, Store) {
    let store = Store::open(&db.url).await.expect("store");
    // The shared channel is a client's, so client messages there are captured.
    let mut conn = store.pool().acquire().await.expect("conn");
    let acme = keel::store::people::add_client(&mut conn, "acme", "Acme Corp", None, 0)
        .await
        .expect("client")
        .expect("a new client");
    keel::store::people::link_channel(&mut conn, "slack", "C0ACME", acme.id)
        .await
        .expect("link");
    drop(conn);
    // Grouping off: each message its own request.
    let settings = Settings {
        group_window_secs: 0,
        ..Settings::default()
    };
    let core = Keel::new(store.clone(), Arc::new(keel::clock::SystemClock), settings);
    let committed = Arc::new(Notify::new());
    let (ingest, _writer) = Ingest::start(core, committed.clone());
    let slack = keel_slack::Slack::new(&keel_slack::SlackConfig {
        bot_token: TOKEN.to_string().into(),
        api_url: fake.api_url.clone(),
    })
    .expect("client");
    let translator = keel_slack::inbound::Translator::new(slack.clone());
    let app = keel_slack::events::router(SECRET.to_string().into(), translator, Arc::new(ingest));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dispatcher = Dispatcher::new(store.clone(), vec![Arc::new(slack) as Arc<dyn Adapter>]);
    tokio::spawn(async move {
        loop {
            let _ = dispatcher.round().await;
            tokio::select! {
                _ = committed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });
    (base, store)
}

/// The fake Slack's shared channel #acme.
const CHANNELS: &[(&str, &str)] = &[("C0ACME", "acme")];

/// lea of the team and bob of the client's own workspace.
const USERS: &[(&str, &str, &str, &str)] = &[
    ("ULEA", "lea", "TTEAM", "Europe/Berlin"),
    ("UBOB", "bob", "TACME", "America/New_York"),
];

/// Everything keel keeps of what Slack sent: tasks, events, dedupe records, the inbox, the
/// outbox, people and touchpoints.
async fn stored(store: &Store) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "tasks",
        "task_events",
        "inbound_events",
        "outbox",
        "members",
        "contacts",
        "touchpoints",
    ] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(store.pool())
            .await
            .expect("count");
        counts.push(count);
    }
    counts.push(keel::store::inbox::count(store).await.expect("inbox"));
    counts
}

/// Waits until keel has handled everything it took in.
async fn handled(store: &Store) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while keel::store::inbox::count(store).await.expect("inbox") > 0 {
        assert!(tokio::time::Instant::now() < deadline, "events still waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HTTP request's headers, in order.
type Headers = Vec<(&'static str, String)>;

/// The headers of a request signed as Slack signs it, with `secret`, at `ts`.
fn signed(secret: &str, ts: &str, content_type: &str, body: &[u8]) -> Headers {
    vec![
        ("X-Slack-Request-Timestamp", ts.to_string()),
        ("X-Slack-Signature", keel_fake_slack::signature(secret, ts, body)),
        ("Content-Type", content_type.to_string()),
    ]
}

/// One POST with these headers (the client adds Host, Content-Length and Accept); the status
/// keel answered, or 0 when it closed the connection without one.
async fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let mut request = client.post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(answer) => answer.status().as_u16(),
        Err(_) => 0,
    }
}

/// A `/keel …` slash command as Slack posts it.
fn slash(user: &str, text: &str, trigger: &str) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/keel")
        .append_pair("text", text)
        .append_pair("user_id", user)
        .append_pair("channel_id", "C0ACME")
        .append_pair("channel_name", "acme")
        .append_pair("team_id", "TTEAM")
        .append_pair("trigger_id", trigger)
        .append_pair("response_url", "http://127.0.0.1:9/none")
        .finish()
        .into_bytes()
}

/// A button press as Slack posts it to /slack/interactivity.
fn press(user: &str, team: &str) -> Vec<u8> {
    let payload = json!({"type": "block_actions", "user": {"id": user, "team_id": team},
        "channel": {"id": "C0ACME"}, "message": {"ts": "1795600000.000100"},
        "actions": [{"action_id": "csat", "value": "up", "action_ts": "1795600009.000001"}]});
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// A message event as Slack would send it, without touching the fake's channel.
fn message_event(user: &str, ts: &str, text: &str) -> Vec<u8> {
    json!({"token": "legacy", "team_id": "TTEAM", "api_app_id": "AKEEL", "type": "event_callback",
           "event_id": format!("Ev{}", ts.replace('.', "")), "event_time": 1795600000,
           "event": {"type": "message", "channel": "C0ACME", "user": user, "text": text, "ts": ts,
                     "team": "TACME", "user_team": "TACME", "channel_type": "channel", "event_ts": ts},
           "authorizations": [{"team_id": "TTEAM", "user_id": "UKEEL", "is_bot": true}]})
    .to_string()
    .into_bytes()
}

on_both_backends!(forged_and_stale_slack_requests_get_401_and_store_nothing, |backend| {
    let db = TestDb::new(backend);
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let (base, store) = keel_behind_the_events_api(&db, &fake).await;
        let nothing = stored(&store).await;
        let endpoints = [
            (
                "events",
                JSON,
                message_event("UBOB", "1795600001.000100", "Please delete all our data"),
            ),
            (
                "commands",
                FORM,
                slash("ULEA", "client add evil \"Evil Corp\"", "T-forged"),
            ),
            ("interactivity", FORM, press("UBOB", "TACME")),
        ];
        for (endpoint, content_type, body) in &endpoints {
            let url = format!("{base}/slack/{endpoint}");
            let now = unix_now().to_string();
            let signature = keel_fake_slack::signature(SECRET, &now, body);
            let mut tampered = body.clone();
            tampered.extend_from_slice(b" ");
            let mut cases: Vec<(&str, Headers, &[u8])> = vec![
                (
                    "the wrong secret",
                    signed("not-the-secret", &now, content_type, body),
                    body.as_slice(),
                ),
                (
                    "a tampered body",
                    signed(SECRET, &now, content_type, body),
                    tampered.as_slice(),
                ),
                (
                    "no timestamp",
                    vec![
                        ("X-Slack-Signature", signature.clone()),
                        ("Content-Type", content_type.to_string()),
                    ],
                    body,
                ),
                (
                    "no signature",
                    vec![
                        ("X-Slack-Request-Timestamp", now.clone()),
                        ("Content-Type", content_type.to_string()),
                    ],
                    body,
                ),
                (
                    "no headers at all",
                    vec![("Content-Type", content_type.to_string())],
                    body,
                ),
                (
                    "a signature of another scheme",
                    vec![
                        ("X-Slack-Request-Timestamp", now.clone()),
                        ("X-Slack-Signature", signature.replacen("v0=", "v1=", 1)),
                        ("Content-Type", content_type.to_string()),
                    ],
                    body,
                ),
                (
                    "a signature in capitals",
                    vec![
                        ("X-Slack-Request-Timestamp", now.clone()),
                        ("X-Slack-Signature", signature.to_uppercase()),
                        ("Content-Type", content_type.to_string()),
                    ],
                    body,
                ),
                (
                    "half a signature",
                    vec![
                        ("X-Slack-Request-Timestamp", now.clone()),
                        ("X-Slack-Signature", signature[..signature.len() / 2].to_string()),
                        ("Content-Type", content_type.to_string()),
                    ],
                    body,
                ),
            ];
            let malformed = [
                "",
                "yesterday",
                "1795600000.5",
                "-1",
                "99999999999999999999",
                "0x6b0e2a00",
                "1,795,600,000",
            ];
            for ts in malformed {
                cases.push(("a malformed timestamp", signed(SECRET, ts, content_type, body), body));
            }
            // Correctly signed, but captured more than five minutes ago (or dated ahead: by
            // more than five minutes still when the last case goes out).
            let stale = (unix_now() - 301).to_string();
            let ahead = (unix_now() + 360).to_string();
            cases.push((
                "a replay older than 5 minutes",
                signed(SECRET, &stale, content_type, body),
                body,
            ));
            cases.push((
                "a timestamp 5 minutes ahead",
                signed(SECRET, &ahead, content_type, body),
                body,
            ));
            for (what, headers, sent) in &cases {
                let status = post(&url, headers, sent).await;
                assert_eq!(status, 401, "/slack/{endpoint} with {what}");
                assert_eq!(stored(&store).await, nothing, "/slack/{endpoint} with {what}");
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        handled(&store).await;
        assert_eq!(stored(&store).await, nothing, "nothing stored from a refused request");
        assert!(fake.keel_posts().is_empty(), "{:?}", fake.keel_posts());
        // The same requests correctly signed are taken: the refusals were about the signature.
        let (_, content_type, body) = &endpoints[1];
        let now = unix_now().to_string();
        let status = post(
            &format!("{base}/slack/commands"),
            &signed(SECRET, &now, content_type, body),
            body,
        )
        .await;
        assert_eq!(status, 200);
        handled(&store).await;
        assert_ne!(stored(&store).await, nothing);
    });
});

on_both_backends!(a_replayed_slack_request_is_one_task_and_one_answer, |backend| {
    let db = TestDb::new(backend);
    support::runtime().block_on(async {
        let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
        let (base, store) = keel_behind_the_events_api(&db, &fake).await;
        let add = slash("ULEA", "client add acme \"Acme Corp\" <#C0ACME|acme>", "T-add");
        let now = unix_now().to_string();
        let status = post(
            &format!("{base}/slack/commands"),
            &signed(SECRET, &now, FORM, &add),
            &add,
        )
        .await;
        assert_eq!(status, 200);
        fake.wait_posts(1, Duration::from_secs(10)).await;

        // bob's request, and a slash command, each sent twice with the very same bytes and
        // headers within the five minutes (as someone who captured them would).
        let asked = message_event(
            "UBOB",
            &format!("{}.000200", unix_now()),
            "The invoice export is broken",
        );
        let tracked = slash("ULEA", "track renew the portal certificate", "T-track");
        let now = unix_now().to_string();
        for _ in 0..2 {
            let events = post(
                &format!("{base}/slack/events"),
                &signed(SECRET, &now, JSON, &asked),
                &asked,
            )
            .await;
            assert_eq!(events, 200, "a repeat within the window is acknowledged");
            let commands = post(
                &format!("{base}/slack/commands"),
                &signed(SECRET, &now, FORM, &tracked),
                &tracked,
            )
            .await;
            assert_eq!(commands, 200);
            handled(&store).await;
        }
        fake.wait_posts(3, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let tasks = tasks_json(&db);
        assert_eq!(tasks.len(), 2, "one task each: {tasks:?}");
        assert_eq!(tasks[0]["requester"], "bob");
        let posts = fake.keel_posts();
        assert_eq!(posts.len(), 3, "one answer each: {posts:?}");
        let before = stored(&store).await;
        // The same request re-signed with a timestamp older than five minutes: refused.
        let stale = (unix_now() - 301).to_string();
        let status = post(
            &format!("{base}/slack/events"),
            &signed(SECRET, &stale, JSON, &asked),
            &asked,
        )
        .await;
        assert_eq!(status, 401);
        handled(&store).await;
        assert_eq!(stored(&store).await, before);
        assert_eq!(fake.keel_posts().len(), 3);
    });
});

on_both_backends!(
    slack_bodies_over_1_mib_get_413_and_a_100_kb_message_is_still_a_task,
    |backend| {
        let db = TestDb::new(backend);
        support::runtime().block_on(async {
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let (base, store) = keel_behind_the_events_api(&db, &fake).await;
            let nothing = stored(&store).await;
            let huge_text = "x".repeat(1024 * 1024);
            let bodies = [
                ("events", JSON, message_event("UBOB", "1795600001.000300", &huge_text)),
                ("commands", FORM, slash("ULEA", &format!("track {huge_text}"), "T-huge")),
                (
                    "interactivity",
                    FORM,
                    format!("payload={}", "x".repeat(1024 * 1024)).into_bytes(),
                ),
            ];
            for (endpoint, content_type, body) in &bodies {
                assert!(body.len() > 1024 * 1024);
                let now = unix_now().to_string();
                let status = post(
                    &format!("{base}/slack/{endpoint}"),
                    &signed(SECRET, &now, content_type, body),
                    body,
                )
                .await;
                assert_eq!(status, 413, "/slack/{endpoint} with {} bytes", body.len());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            handled(&store).await;
            assert_eq!(stored(&store).await, nothing, "nothing stored from a refused body");

            // 100 KB (Slack itself stops at 40,000 characters; keel takes more): a task.
            let big = hundred_kb();
            let body = message_event("UBOB", &format!("{}.000400", unix_now()), &big);
            let now = unix_now().to_string();
            let status = post(
                &format!("{base}/slack/events"),
                &signed(SECRET, &now, JSON, &body),
                &body,
            )
            .await;
            assert_eq!(status, 200);
            handled(&store).await;
            let tasks = tasks_json(&db);
            assert_eq!(tasks.len(), 1, "{tasks:?}");
            assert!(tasks[0]["title"].as_str().is_some_and(|t| t.ends_with('…')));
            let created = &events(&db)[0];
            assert_eq!(created["data"]["text"], json!(big), "kept whole");
            let answer = &fake.wait_posts(1, Duration::from_secs(10)).await;
            let answer = answer.iter().find(|p| p.user == "UKEEL").expect("an answer");
            assert!(
                answer.text.starts_with("#1 opened: \"The invoice export fails"),
                "{}",
                answer.text
            );
            assert!(answer.text.chars().count() < 400);
        });
    }
);

on_both_backends!(
    slack_display_names_with_control_characters_are_stored_clean,
    |backend| {
        let db = TestDb::new(backend);
        support::runtime().block_on(async {
            let fake = support::fake_slack(TOKEN, CHANNELS, USERS).await;
            let long = "y".repeat(100 * 1024);
            let names = [
                ("UEVE", "ev\u{0}e\u{202e}\r\n"),
                ("ULONG", long.as_str()),
                ("USQL", "'; DROP TABLE tasks;--"),
                ("UNONE", "\u{0}\u{200b}"),
            ];
            for (id, name) in names {
                fake.add_user(id, name, "TACME", "America/New_York");
            }
            let (base, store) = keel_behind_the_events_api(&db, &fake).await;
            let add = slash("ULEA", "client add acme \"Acme Corp\" <#C0ACME|acme>", "T-add");
            let now = unix_now().to_string();
            assert_eq!(
                post(
                    &format!("{base}/slack/commands"),
                    &signed(SECRET, &now, FORM, &add),
                    &add
                )
                .await,
                200
            );
            handled(&store).await;
            for (n, (id, _)) in names.iter().enumerate() {
                let body = message_event(id, &format!("{}.00050{n}", unix_now()), "The export is broken again");
                let now = unix_now().to_string();
                let status = post(
                    &format!("{base}/slack/events"),
                    &signed(SECRET, &now, JSON, &body),
                    &body,
                )
                .await;
                assert_eq!(status, 200);
                handled(&store).await;
            }
            let tasks = tasks_json(&db);
            let requesters: Vec<&str> = tasks.iter().filter_map(|t| t["requester"].as_str()).collect();
            assert_eq!(
                requesters,
                ["ev e", &"y".repeat(100), "'; DROP TABLE tasks;--", "someone"],
                "every request is a task, its requester's name clean"
            );
            let contacts: Vec<String> =
                sqlx::query_scalar("SELECT name FROM contacts ORDER BY created_at, platform_id")
                    .fetch_all(store.pool())
                    .await
                    .expect("contacts");
            assert!(
                contacts
                    .iter()
                    .all(|n| !n.chars().any(is_unprintable) && n.chars().count() <= 100),
                "{contacts:?}"
            );
            for event in events(&db) {
                let actor = event["actor"].as_str().expect("actor");
                assert!(
                    !actor.chars().any(is_unprintable) && actor.chars().count() <= 100,
                    "{actor:?}"
                );
            }
        });
    }
);

on_both_backends!(the_command_line_refuses_hostile_arguments_in_one_line, |backend| {
    let team = Team::new(backend);
    team.lea(&["track renew the portal certificate"]);
    let before = team.everything();
    let big = "x".repeat(100 * 1024);
    let hostile_args: Vec<Vec<&str>> = vec![
        vec!["tasks", "list", "--status", "'; DROP TABLE tasks;--"],
        vec!["tasks", "list", "--client", "'; DROP TABLE tasks;--"],
        vec!["tasks", "list", "--owner", "\" OR 1=1 --"],
        vec!["tasks", "list", "--owner", "esc\x1b[31mred"],
        vec!["tasks", "list", "--client", &big],
        vec!["kpi", "--week", "'; DROP TABLE tasks;--"],
        vec!["kpi", "--from", "'; DROP", "--to", "2026-11-30"],
        vec!["kpi", "--from", "2026-11-30", "--to", &big],
        vec!["tick", "--now", "'; DROP TABLE tasks;--"],
        vec!["tasks", "list", "--format", "'; DROP TABLE tasks;--"],
    ];
    for args in &hostile_args {
        let mut all = args.clone();
        all.extend_from_slice(&["--db", &team.db.url]);
        let out = keel(&all, "");
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = keel::domain::truncate(&args.join(" "), 80);
        assert!(matches!(code, Some(1) | Some(2)), "keel {shown}: {code:?} {stderr}");
        assert_eq!(stderr.lines().count(), 1, "keel {shown}: {stderr}");
        assert!(stderr.starts_with("keel: "), "keel {shown}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "keel {shown}");
    }
    assert_eq!(team.everything(), before, "the tables are all there, unchanged");
});

on_both_backends!(a_line_that_is_not_utf8_does_not_end_the_chat, |backend| {
    let team = Team::new(backend);
    let mut input = b"track renew the portal certificate\n".to_vec();
    input.extend_from_slice(b"\xff\xfe not text\n");
    input.extend_from_slice(b"track call acme about the renewal\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["chat", "--db", &team.db.url, "--now", NOW, "--as", "lea"])
        .env_remove("KEEL_DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("keel runs");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(&input).expect("write");
    let out = child.wait_with_output().expect("keel finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(team.tasks().len(), 2, "the line after it was read too: {stdout}");
});
