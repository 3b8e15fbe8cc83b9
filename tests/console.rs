//! End to end through the real binary and its console adapter, on SQLite and PostgreSQL.

mod support;

use serde_json::Value;
use support::{chat, events, keel, tasks_json, TestDb};

const NOW: &str = "2026-11-24T15:00:00Z";

fn check_the_invoice_request(db: &TestDb) {
    let tasks = tasks_json(db);
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    let t = &tasks[0];
    assert_eq!(t["id"], 1);
    assert_eq!(t["client"], "acme");
    assert_eq!(t["requester"], "bob");
    assert_eq!(t["source"], "auto");
    assert_eq!(t["status"], "open");
    assert_eq!(t["channel"], "acme");
    assert!(t["due_at"].as_str().unwrap_or("").starts_with("2026-11-27"), "{t}");
    assert!(t["first_response_at"].is_string(), "{t}");
    assert_eq!(t["owner"], "lea", "the first responder owns an auto-captured task");
    assert!(t["sentiment"].is_number());
    assert_eq!(t["resolved_at"], Value::Null);
}

on_both_backends!(a_client_request_is_captured_one_speaker_per_run, |backend| {
    let db = TestDb::new(backend);
    let added = chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    assert!(
        added.contains("client acme added: Acme Corp · channels #acme"),
        "{added}"
    );
    let opened = chat(
        &db,
        NOW,
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "Hi, the invoice export is broken again, we need it fixed by Friday please\n",
    );
    assert!(opened.starts_with("[#acme] keel: #1 opened"), "{opened}");
    assert!(opened.contains("client acme"), "{opened}");
    assert!(
        opened.contains("due Fri 27 Nov 2026 17:00 UTC (\"by Friday\")"),
        "{opened}"
    );
    let answered = chat(&db, NOW, &["--as", "lea", "--channel", "acme"], "Looking into it now\n");
    assert_eq!(answered, "", "an ordinary message gets no answer from keel");
    check_the_invoice_request(&db);
});

on_both_backends!(a_client_request_is_captured_in_one_stream, |backend| {
    let db = TestDb::new(backend);
    let script = "/join general\n\
                  @keel client add acme \"Acme Corp\" #acme\n\
                  /as bob --client acme\n\
                  /join acme\n\
                  Hi, the invoice export is broken again, we need it fixed by Friday please\n\
                  /as lea\n\
                  Looking into it now\n";
    let out = chat(&db, NOW, &["--as", "lea"], script);
    let replies: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(replies.len(), 2, "{out}");
    check_the_invoice_request(&db);
    let kinds: Vec<String> = events(&db)
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(kinds, ["created", "first_response"]);
});

on_both_backends!(bad_input_changes_nothing_and_says_why, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    chat(
        &db,
        NOW,
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "The export is broken\n",
    );
    let before = (tasks_json(&db), events(&db));
    let out = chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "@keel due #99 tomorrow\n",
    );
    assert_eq!(out.trim(), "[#general] keel: #99 does not exist");
    let out = chat(
        &db,
        NOW,
        &["--as", "lea"],
        "due #99 tomorrow\ndue #1 next blursday\npriority #1 soonish\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "[@lea] keel: #99 does not exist");
    assert_eq!(
        lines[1],
        "[@lea] keel: \"next blursday\" is not a date I understand (try \"friday\", \"2026-12-01\", \"in 3 days\")"
    );
    assert!(lines[2].contains("\"soonish\" is not a priority"), "{out}");
    let refused = chat(
        &db,
        NOW,
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "@keel assign #1 @lea\n",
    );
    // In a channel shared with a client, a mistake's answer reaches only the one who made it.
    assert_eq!(
        refused.trim(),
        "[#acme only to @bob] keel: only team members can assign tasks"
    );
    let typo = chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "acme"],
        "@keel due #99 tomorrow\n",
    );
    assert_eq!(typo.trim(), "[#acme only to @lea] keel: #99 does not exist");
    let refused = chat(
        &db,
        NOW,
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "/keel client add evil \"Evil\"\n",
    );
    assert_eq!(
        refused.trim(),
        "[#acme only to @bob] keel: only team members can add clients"
    );
    assert_eq!(
        (tasks_json(&db), events(&db)),
        before,
        "refused and mistaken commands change nothing"
    );
});

on_both_backends!(commands_change_tasks_and_log_every_change, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme owner @lea\n",
    );
    chat(&db, NOW, &["--as", "sam", "--channel", "general"], "hello all\n");
    let script = "track urgent: renew the SSL certificate for acme by 2026-12-01 @sam\n\
                  take #1\n\
                  start #1\n\
                  due #1 tomorrow 3pm\n\
                  priority #1 high\n\
                  note #1 waiting for the CSR\n\
                  wait #1\n\
                  done #1 renewed\n\
                  reopen #1\n\
                  cancel #1 duplicate\n\
                  escalate #1\n\
                  show #1\n";
    let out = chat(&db, NOW, &["--as", "lea"], script);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        lines[0].contains("#1 opened: \"urgent: renew the SSL certificate"),
        "{out}"
    );
    assert!(lines[0].contains("client acme"), "{out}");
    assert!(lines[0].contains("due Tue 1 Dec 2026 17:00 UTC"), "{out}");
    assert!(lines[0].contains("priority urgent"), "{out}");
    assert!(lines[0].contains("owner @sam"), "{out}");
    assert!(
        out.contains("[@sam] keel: #1 is yours"),
        "the new owner hears of it: {out}"
    );
    assert!(out.contains("#1 owner @lea"), "{out}");
    assert!(out.contains("#1 in-progress"), "{out}");
    assert!(out.contains("#1 due Wed 25 Nov 2026 15:00 UTC"), "{out}");
    assert!(out.contains("#1 priority high (was urgent)"), "{out}");
    assert!(out.contains("#1 done: renewed"), "{out}");
    assert!(out.contains("#1 cancelled: duplicate"), "{out}");
    assert!(out.contains("#1 is cancelled; reopen it before escalating"), "{out}");
    assert!(out.contains("requester lea"), "{out}");
    let t = &tasks_json(&db)[0];
    assert_eq!(t["status"], "cancelled");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["owner"], "lea");
    assert_eq!(t["due_at"], "2026-11-25T15:00:00Z");
    let kinds: Vec<String> = events(&db)
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        kinds,
        ["created", "assigned", "status", "due", "priority", "note", "status", "status", "status", "status"]
    );
});

on_both_backends!(client_messages_group_and_noise_is_no_task, |backend| {
    let db = TestDb::new(backend);
    chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "@keel client add acme \"Acme Corp\" #acme\n",
    );
    let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
    chat(&db, "2026-11-24T15:00:00Z", &bob, "Hi!\n");
    chat(&db, "2026-11-24T15:00:10Z", &bob, "The login page is down\n");
    chat(
        &db,
        "2026-11-24T15:02:30Z",
        &bob,
        "also the reset link does not arrive. This is terrible and unacceptable, we are furious\n",
    );
    chat(&db, "2026-11-24T15:09:00Z", &bob, "ok thanks 👍\n");
    chat(
        &db,
        "2026-11-24T15:10:00Z",
        &bob,
        "Another thing: can you add Dana to the admin group?\n",
    );
    let tasks = tasks_json(&db);
    assert_eq!(
        tasks.len(),
        2,
        "greetings and thanks are no tasks; messages 2.5 min apart join: {tasks:#?}"
    );
    assert_eq!(
        tasks[0]["priority"], "high",
        "a frustrated follow-up raises the priority"
    );
    assert_eq!(tasks[1]["title"], "Another thing: can you add Dana to the admin group?");
});

#[test]
fn an_unreachable_database_is_an_environment_error() {
    let out = keel(&["tasks", "list", "--db", "sqlite:///no/such/dir/x.db"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("keel: cannot open database"), "{stderr}");
    let out = keel(&["tasks", "list", "--db", "mysql://x"], "");
    assert_eq!(out.status.code(), Some(2));
    let out = keel(&["tasks", "frobnicate"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn keel_alone_is_the_direct_chat() {
    let db = TestDb::sqlite();
    let out = keel(
        &["--db", &db.url, "--as", "lea", "--now", NOW],
        "help\ntrack call Acme by friday\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("[@lea] keel: Commands"), "{stdout}");
    assert!(
        stdout.contains("[@lea] keel: #1 opened: \"call Acme by friday\""),
        "{stdout}"
    );
}

#[test]
fn missing_records_and_bad_values_exit_1() {
    let db = TestDb::sqlite();
    let out = keel(&["tasks", "list", "--db", &db.url, "--client", "nobody"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "keel: there is no client \"nobody\""
    );
    let out = keel(&["tasks", "list", "--db", &db.url, "--status", "sleeping"], "");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn csv_and_table_outputs_carry_the_same_tasks() {
    let db = TestDb::sqlite();
    chat(
        &db,
        NOW,
        &["--as", "lea"],
        "track call Acme about the renewal, comma, \"quotes\"\n",
    );
    let csv = keel(&["tasks", "list", "--db", &db.url, "--format", "csv"], "");
    let csv = String::from_utf8_lossy(&csv.stdout);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,title,client,channel,requester,owner,status,priority,source,sentiment,created_at,due_at,first_response_at,resolved_at"));
    assert!(
        lines
            .next()
            .unwrap_or("")
            .starts_with("1,\"call Acme about the renewal, comma, \"\"quotes\"\"\",,@lea,lea,,open,normal,mention,"),
        "{csv}"
    );
    let table = keel(&["tasks", "list", "--db", &db.url], "");
    assert!(String::from_utf8_lossy(&table.stdout).contains("call Acme about the renewal"));
}

#[test]
fn clients_list_and_migrate_and_config_check() {
    let db = TestDb::sqlite();
    chat(
        &db,
        NOW,
        &["--as", "lea"],
        "client add acme \"Acme Corp\"\nclient signed acme 2026-11-01\n",
    );
    let out = keel(&["clients", "list", "--db", &db.url, "--format", "json"], "");
    let clients: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(clients[0]["key"], "acme");
    assert_eq!(clients[0]["contract_signed_at"], "2026-11-01T17:00:00Z");
    let out = keel(&["migrate", "--db", &db.url], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 migrations applied now"));
    let out = keel(&["config", "check", "--db", &db.url], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("keel.toml");
    std::fs::write(&bad, "[team]\ntimezone = \"Mars/Olympus\"\nhours = \"late\"\n").expect("write");
    let out = keel(
        &[
            "config",
            "check",
            "--db",
            &db.url,
            "--config",
            bad.to_str().expect("path"),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("team.timezone") && stderr.contains("team.hours"),
        "every problem at once: {stderr}"
    );
}

/// The shipped example, with its `[matrix]` and `[slack]` sections turned on, is a valid
/// configuration once the secrets are in the environment; without them, `config check` names
/// every one that is missing.
#[test]
fn the_example_config_with_matrix_and_slack_on_checks_out() {
    let db = TestDb::sqlite();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/keel.example.toml"))
        .expect("example config");
    // Uncomment the settings of the commented-out [matrix] section.
    let (before, section) = example.split_at(example.find("# [matrix]").expect("a [matrix] section"));
    let section = section
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(setting)
                if setting == "[matrix]"
                    || setting == "[slack]"
                    || setting.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                setting
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let matrix_on = format!("{before}{section}\n");
    assert!(matrix_on.contains("\n[matrix]\n"), "{matrix_on}");
    assert!(matrix_on.contains("\n[slack]\n"), "{matrix_on}");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("keel.toml");
    std::fs::write(&file, &matrix_on).expect("write");
    let check = |password: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.args(["config", "check", "--db", &db.url, "--config"])
            .arg(&file)
            .env_remove("KEEL_MATRIX__PASSWORD")
            .env_remove("KEEL_MATRIX__ACCESS_TOKEN")
            .env_remove("KEEL_SLACK__BOT_TOKEN")
            .env_remove("KEEL_SLACK__APP_TOKEN");
        if let Some(p) = password {
            cmd.env("KEEL_MATRIX__PASSWORD", p)
                .env("KEEL_SLACK__BOT_TOKEN", format!("xoxb-{p}"))
                .env("KEEL_SLACK__APP_TOKEN", format!("xapp-{p}"));
        }
        cmd.output().expect("runs")
    };
    let missing = check(None);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("matrix.password: missing"), "{stderr}");
    assert!(stderr.contains("slack.bot_token: missing"), "{stderr}");
    assert!(stderr.contains("slack.app_token: missing"), "{stderr}");
    assert_eq!(stderr.lines().count(), 4, "three problems and the summary: {stderr}");
    let ok = check(Some("s3cret-passw0rd"));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        stdout.contains("matrix @keel:example.org on https://matrix.example.org"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret") && !String::from_utf8_lossy(&ok.stderr).contains("s3cret"));
    // A wrong entry is named.
    std::fs::write(
        &file,
        matrix_on.replace("team = [\"example.org\"]", "team = [\"@lea\"]"),
    )
    .expect("write");
    let bad = check(Some("x"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("matrix.team: \"@lea\" is not a Matrix id"));
}

/// `keel kpi --format json` for one day.
fn kpi_of_the_day(db: &TestDb, day: &str) -> Value {
    let out = keel(
        &["kpi", "--db", &db.url, "--from", day, "--to", day, "--format", "json"],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("kpi json")
}

/// Runs one statement on the test's database (to break it on purpose).
fn execute(db: &TestDb, sql: &str) {
    support::runtime().block_on(async {
        let store = keel::store::Store::open(&db.url).await.expect("store");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(store.pool())
            .await
            .expect("statement");
        store.close().await;
    });
}

on_both_backends!(
    a_joined_message_that_brings_a_due_date_or_urgency_is_logged_and_answered,
    |backend| {
        let db = TestDb::new(backend);
        chat(
            &db,
            NOW,
            &["--as", "lea", "--channel", "general"],
            "@keel client add acme \"Acme Corp\" #acme\n",
        );
        let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
        let opened = chat(&db, "2026-11-24T15:00:00Z", &bob, "The export is broken\n");
        assert!(
            opened.contains("#1 opened") && opened.contains("no due date"),
            "{opened}"
        );
        let joined = chat(&db, "2026-11-24T15:01:00Z", &bob, "we need it by Friday please\n");
        assert_eq!(
            joined, "[#acme] keel: #1 due Fri 27 Nov 2026 17:00 UTC\n",
            "the client is told what keel understood"
        );
        let urgent = chat(&db, "2026-11-24T15:02:00Z", &bob, "and it is urgent\n");
        assert_eq!(urgent, "[#acme] keel: #1 priority urgent (was normal)\n");
        let plain = chat(&db, "2026-11-24T15:03:00Z", &bob, "the CSV one, not the PDF\n");
        assert_eq!(plain, "", "a joined message that changes nothing gets no answer");

        chat(&db, "2026-11-24T16:00:00Z", &bob, "The login page is down\n");
        let upset = chat(
            &db,
            "2026-11-24T16:01:00Z",
            &bob,
            "This is terrible and unacceptable, we are furious\n",
        );
        assert_eq!(
            upset, "[#acme] keel: #2 priority high (was normal)\n",
            "frustration raises the priority"
        );

        let logged: Vec<(i64, String)> = events(&db)
            .iter()
            .map(|e| {
                (
                    e["task"].as_i64().unwrap_or(0),
                    e["kind"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let kinds = |task: i64| -> Vec<&str> {
            logged
                .iter()
                .filter(|(t, _)| *t == task)
                .map(|(_, k)| k.as_str())
                .collect()
        };
        assert_eq!(
            kinds(1),
            [
                "created",
                "message_joined",
                "due",
                "message_joined",
                "priority",
                "message_joined"
            ]
        );
        assert_eq!(kinds(2), ["created", "message_joined", "priority"]);
        let tasks = tasks_json(&db);
        assert!(
            tasks[0]["due_at"]
                .as_str()
                .unwrap_or("")
                .starts_with("2026-11-27T17:00"),
            "{tasks:#?}"
        );
        assert_eq!(
            (tasks[0]["priority"].as_str(), tasks[1]["priority"].as_str()),
            (Some("urgent"), Some("high"))
        );

        let (whole, text) = db.verify();
        assert!(whole, "{text}");
        assert_eq!(text, "2 tasks, 9 events: the tasks table is what the log says\n");

        // One field changed behind keel's back is named: the task, the field, both values.
        execute(&db, "UPDATE tasks SET due_at = due_at + 3600 WHERE id = 1");
        let db = db.unverified();
        let (whole, text) = db.verify();
        assert!(!whole);
        assert_eq!(
            text,
            "#1 due_at: table 1795802400, replayed 1795798800\n\
         keel: 1 differences in 1 of 2 tasks between the tasks table and its log\n"
        );
    }
);

on_both_backends!(
    a_team_greeting_answers_nothing_and_a_top_level_answer_answers_one,
    |backend| {
        let db = TestDb::new(backend);
        chat(
            &db,
            NOW,
            &["--as", "lea", "--channel", "general"],
            "@keel client add acme \"Acme Corp\" #acme\n",
        );
        let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
        let carol = ["--as", "carol", "--client", "acme", "--channel", "acme"];
        chat(&db, "2026-11-24T09:00:00Z", &bob, "The export is broken\n");
        chat(&db, "2026-11-24T09:10:00Z", &carol, "Can you reset my password?\n");
        let lea = ["--as", "lea", "--channel", "acme"];
        let max = ["--as", "max", "--channel", "acme"];
        chat(&db, "2026-11-24T09:15:00Z", &lea, "good morning everyone\n");
        chat(&db, "2026-11-24T09:16:00Z", &max, "thanks! 🙏\n");
        let answered = |db: &TestDb| -> Vec<(Value, Value)> {
            tasks_json(db)
                .iter()
                .map(|t| (t["first_response_at"].clone(), t["owner"].clone()))
                .collect()
        };
        assert_eq!(
            answered(&db),
            [(Value::Null, Value::Null), (Value::Null, Value::Null)],
            "a greeting and a thanks from the team answer nothing"
        );

        // A top-level answer that names nobody answers the newest waiting request only.
        chat(
            &db,
            "2026-11-24T09:20:00Z",
            &lea,
            "I'll send a reset link in a minute\n",
        );
        let after = answered(&db);
        assert_eq!(after[0], (Value::Null, Value::Null), "bob's request is still waiting");
        assert_eq!(after[1].0, "2026-11-24T09:20:00Z");
        assert_eq!(
            after[1].1, "lea",
            "the first responder owns only the task they answered"
        );

        // One that names the requester answers that request.
        chat(&db, "2026-11-24T09:30:00Z", &max, "@bob looking at the export now\n");
        let after = answered(&db);
        assert_eq!(after[0].0, "2026-11-24T09:30:00Z");
        assert_eq!(after[0].1, "max");
        assert_eq!(after[1].1, "lea");

        let kpi = kpi_of_the_day(&db, "2026-11-24");
        let first = &kpi["first_response_hours"];
        assert_eq!(
            (first["median"].as_f64(), first["p90"].as_f64()),
            (Some(0.33), Some(0.5)),
            "first responses of 10 and 30 minutes: {first}"
        );
    }
);

/// `!keel …` in a channel, `tasks list --status all`, and `kpi`'s bad input exiting 1 as `tasks
/// list`'s does.
#[test]
fn bang_keel_status_all_and_bad_kpi_input_exit_1() {
    let db = TestDb::sqlite();
    let out = chat(
        &db,
        NOW,
        &["--as", "lea", "--channel", "general"],
        "!keel track renew the certificate\n!keel done #1\n!keel track call acme\n",
    );
    assert!(out.starts_with("[#general] keel: #1 opened"), "{out}");
    assert!(out.contains("[#general] keel: #1 done"), "{out}");

    let out = keel(
        &["tasks", "list", "--db", &db.url, "--status", "all", "--format", "json"],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let statuses: Vec<&str> = all.iter().filter_map(|t| t["status"].as_str()).collect();
    assert_eq!(statuses, ["done", "open"]);

    for args in [
        vec!["kpi", "--week", "2026-W99"],
        vec!["kpi", "--from", "yesterday", "--to", "2026-11-30"],
        vec!["tasks", "list", "--status", "sleeping"],
    ] {
        let mut all = args.clone();
        all.extend_from_slice(&["--db", &db.url]);
        let out = keel(&all, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "keel {}: {stderr}", args.join(" "));
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

on_both_backends!(clients_are_edited_and_only_linked_channels_capture, |backend| {
    let db = TestDb::new(backend);
    let lea = ["--as", "lea", "--channel", "general"];
    chat(&db, NOW, &lea, "@keel client add acme \"Acme Corp\" #acme owner @lea\n");
    chat(&db, NOW, &["--as", "max", "--channel", "general"], "morning!\n");
    let said = chat(
        &db,
        NOW,
        &lea,
        "@keel client owner acme @max\n@keel client rename acme \"Acme Inc\"\n",
    );
    assert_eq!(
        said,
        "[#general] keel: client acme owner @max (was @lea)\n\
         [#general] keel: client acme renamed: Acme Inc (was Acme Corp)\n"
    );
    let refused = chat(
        &db,
        NOW,
        &["--as", "max", "--channel", "general"],
        "@keel client rename acme \"Mine\"\n",
    );
    assert!(
        refused.contains("only leads and admins can rename clients"),
        "{refused}"
    );

    // A client user in a channel linked to no client: no task, and the leads hear of it once.
    let support = ["--as", "bob", "--client", "acme", "--channel", "acme-support"];
    let first = chat(&db, "2026-11-24T15:10:00Z", &support, "The export is broken\n");
    assert_eq!(
        first,
        "[@lea] keel: bob (acme) wrote in #acme-support, which is linked to no client, so keel made no task of it. \
         To capture requests there: client channel acme add #acme-support\n"
    );
    let again = chat(
        &db,
        "2026-11-24T15:20:00Z",
        &support,
        "Hello? The export is still broken\n",
    );
    assert_eq!(again, "", "the leads are told once per channel");
    assert!(tasks_json(&db).is_empty());

    let linked = chat(
        &db,
        NOW,
        &lea,
        "@keel client channel acme add #acme-support\n@keel client channel acme remove #acme\n",
    );
    assert_eq!(
        linked,
        "[#general] keel: client acme: #acme-support added · channels #acme #acme-support\n\
         [#general] keel: client acme: #acme removed · channels #acme-support\n"
    );
    let opened = chat(&db, "2026-11-24T15:30:00Z", &support, "The import fails too\n");
    assert!(opened.starts_with("[#acme-support] keel: #1 opened"), "{opened}");
    assert!(
        opened.contains("client acme") && opened.contains("owner @max"),
        "{opened}"
    );
    let unlinked = chat(
        &db,
        "2026-11-24T15:40:00Z",
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "Can you also check the PDF export?\n",
    );
    assert!(
        unlinked.starts_with("[@lea] keel: bob (acme) wrote in #acme,"),
        "{unlinked}"
    );
    assert_eq!(tasks_json(&db).len(), 1);

    let card = chat(&db, NOW, &lea, "@keel client show acme\n");
    assert!(card.contains("acme — Acme Inc · added · owner @max · 1 open"), "{card}");
    assert!(card.contains("channels #acme-support (console)"), "{card}");
});

on_both_backends!(
    a_colleague_answering_keels_question_is_counted_once_and_makes_no_task,
    |backend| {
        let db = TestDb::new(backend);
        let lea = ["--as", "lea", "--channel", "general"];
        chat(&db, NOW, &lea, "@keel client add acme \"Acme Corp\" #acme\n");
        let acme = |who: &'static str| ["--as", who, "--client", "acme", "--channel", "acme"];
        chat(&db, "2026-11-24T09:00:00Z", &acme("bob"), "Hi!\n");
        let sent = chat(&db, "2026-11-24T10:00:00Z", &lea, "@keel survey nps acme\n");
        assert!(sent.contains("NPS question sent to bob (acme)"), "{sent}");

        // carol, whom keel has never seen, answers in the channel: her answer counts, once.
        let thanks = chat(&db, "2026-11-24T10:05:00Z", &acme("carol"), "9 - great support\n");
        assert_eq!(thanks, "[#acme] keel: Thank you, carol: 9 of 10 recorded.\n");
        let again = chat(&db, "2026-11-24T10:06:00Z", &acme("carol"), "10\n");
        assert_eq!(
            again,
            "[#acme] keel: you have answered this question already, thank you\n"
        );
        let bob = chat(&db, "2026-11-24T10:10:00Z", &acme("bob"), "8\n");
        assert_eq!(bob, "[#acme] keel: Thank you, bob: 8 of 10 recorded.\n");
        let request = chat(&db, "2026-11-24T10:20:00Z", &acme("dave"), "The export is broken\n");
        assert!(request.contains("#1 opened"), "a request is still a request: {request}");
        assert_eq!(tasks_json(&db).len(), 1, "no answer became a task");

        let kpi = kpi_of_the_day(&db, "2026-11-24");
        assert_eq!(kpi["nps"]["answers"], 2, "{}", kpi["nps"]);
        assert_eq!(
            kpi["nps"]["value"], 50.0,
            "carol a promoter, bob passive: {}",
            kpi["nps"]
        );
        let clients = keel(&["clients", "list", "--db", &db.url, "--format", "json"], "");
        assert!(clients.status.success());
    }
);

on_both_backends!(a_teammate_named_before_they_ever_wrote_can_be_given_a_task, |backend| {
    let db = TestDb::new(backend);
    let lea = ["--as", "lea", "--channel", "general"];
    chat(&db, NOW, &lea, "@keel client add acme \"Acme Corp\" #acme\n");
    chat(
        &db,
        NOW,
        &["--as", "bob", "--client", "acme", "--channel", "acme"],
        "Hi!\n",
    );
    let said = chat(
        &db,
        NOW,
        &lea,
        "@keel track renew the portal certificate\n@keel assign #1 @kim\n@keel assign #1 @bob\n@keel assign #1 @o'neil;--\n",
    );
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("[#general] keel: #1 opened"), "{said}");
    // kim never wrote, and is a teammate now: she hears of it.
    assert_eq!(
        &lines[1..],
        [
            "[@kim] keel: #1 is yours now (lea assigned it): \"renew the portal certificate\"",
            "[#general] keel: #1 owner @kim",
            "[#general] keel: @bob is a client user, not a team member",
            "[#general] keel: I don't know @o'neil;--: people join the team when they first write where keel is",
        ],
        "{said}"
    );
    assert_eq!(tasks_json(&db)[0]["owner"], "kim");
    // kim is a member like any other: her own commands work.
    let mine = chat(&db, NOW, &["--as", "kim", "--channel", "general"], "@keel list mine\n");
    assert!(mine.contains("#1 open"), "{mine}");
});

on_both_backends!(
    requests_read_the_dates_people_write_and_ask_back_about_12_11,
    |backend| {
        // Tuesday 24 Nov 2026, 15:00 UTC; lea works 09:00-17:00 UTC.
        let db = TestDb::new(backend);
        let lea = ["--as", "lea", "--channel", "general"];
        let said = chat(
            &db,
            NOW,
            &lea,
            "@keel track send the report Monday 10am\n\
         @keel track call them back Friday at 2pm\n\
         @keel track renew the certificate by the 15th\n\
         @keel track restart the sync first thing tomorrow\n\
         @keel track ship the export by 12/11\n\
         @keel due #5 12/11\n\
         @keel due #5 Dec 11\n",
        );
        let lines: Vec<&str> = said.lines().collect();
        assert!(
            lines[0].contains("due Mon 30 Nov 2026 10:00 UTC (\"Monday 10am\")"),
            "{said}"
        );
        assert!(
            lines[3].contains("due Wed 25 Nov 2026 09:00 UTC (\"first thing tomorrow\")"),
            "{said}"
        );
        // 12/11 could be either: keel opens the task without a date and asks.
        assert!(
            lines[4].ends_with("· no due date yet: \"12/11\" could be 12 Nov or 11 Dec (`due #5 Dec 11`)"),
            "{said}"
        );
        assert_eq!(
        lines[5],
        "[#general] keel: \"12/11\" could be Fri 12 Nov 2027 or Fri 11 Dec 2026: write the month as a word (\"Dec 11\")"
    );
        assert!(lines[6].contains("due Fri 11 Dec 2026 17:00 UTC"), "{said}");
        let due: Vec<String> = tasks_json(&db)
            .iter()
            .map(|t| t["due_at"].as_str().unwrap_or("none").to_string())
            .collect();
        assert_eq!(
            due,
            [
                "2026-11-30T10:00:00Z",
                "2026-11-27T14:00:00Z",
                "2026-12-15T17:00:00Z",
                "2026-11-25T09:00:00Z",
                "2026-12-11T17:00:00Z",
            ]
        );
    }
);

on_both_backends!(a_card_is_printed_and_reactions_on_it_act_like_its_buttons, |backend| {
    let db = TestDb::new(backend);
    let script = "/join general\n\
                  @keel client add acme \"Acme Corp\" #acme\n\
                  /as bob --client acme\n\
                  /join acme\n\
                  Could you export the Q3 invoices by Friday?\n\
                  /react ✅\n\
                  /as lea\n\
                  /react 👀\n\
                  /react ✅\n";
    let out = chat(&db, NOW, &["--as", "lea"], script);
    let card = out
        .split("[#acme] keel: ")
        .find(|part| part.starts_with("#1 opened"))
        .unwrap_or_else(|| panic!("no card: {out}"));
    assert!(card.contains("client acme") && card.contains("no owner yet"), "{out}");
    // bob's ✅ is a client's and does nothing; lea's 👀 on the card takes it and her ✅ closes
    // it, answered as the typed commands are.
    let after = &out[out.find("#1 opened").unwrap_or(0)..];
    assert!(
        !after.contains("only team members"),
        "a client's reaction is ignored: {out}"
    );
    assert!(after.contains("#1 owner @lea"), "{out}");
    assert!(after.contains("#1 done"), "{out}");
    let tasks = tasks_json(&db);
    assert_eq!(tasks[0]["owner"], "lea");
    assert_eq!(tasks[0]["status"], "done");
});
