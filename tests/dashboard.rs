//! The web dashboard as a member reaches it: a link asked for in chat, opened once, a session
//! cookie, the overview; a client refused; used, expired and missing links and no cookie show the
//! sign-in page (200, so a browser reports no error) and nothing else. On SQLite and PostgreSQL, against `keel run`.

mod support;

use std::time::Duration;

use support::{chat, chat_as, dashboard_link, keel, link_path, KeelRun, TestDb};

struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(run: &KeelRun) -> Browser {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Browser {
            client,
            base: format!("http://{}", run.http),
        }
    }

    /// GET with an optional session cookie: status, headers, body.
    async fn get(&self, path: &str, cookie: Option<&str>) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let answer = request.send().await.expect("keel answers");
        let (status, headers) = (answer.status().as_u16(), answer.headers().clone());
        (status, headers, answer.text().await.expect("a body"))
    }

    async fn logout(&self, cookie: &str) -> (u16, reqwest::header::HeaderMap) {
        let answer = self
            .client
            .post(format!("{}/dashboard/logout", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .expect("keel answers");
        (answer.status().as_u16(), answer.headers().clone())
    }
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The sign-in page: how to get a link, and no data.
fn assert_sign_in(body: &str, reason: &str) {
    assert!(body.contains("Say <code>dashboard</code> to keel in chat"), "{body}");
    assert!(body.contains(reason), "{body}");
    for data in ["Overview", "Needs attention", "acme", "SSO"] {
        assert!(!body.contains(data), "the sign-in page shows {data:?}: {body}");
    }
}

on_both_backends!(
    a_member_signs_in_with_a_link_from_chat_and_sees_the_overview,
    |backend| {
        support::runtime().block_on(async {
            let db = TestDb::new(backend);
            let run = KeelRun::serving(&db);
            let now = chrono::Utc::now();
            let at = |minutes: i64| (now + chrono::Duration::minutes(minutes)).to_rfc3339();
            let lea = ["--as", "lea", "--channel", "general"];
            let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
            chat_as(&run, &db, &at(-60), &lea, "@keel client add acme \"Acme Corp\" #acme\n");
            chat_as(&run, &db, &at(-50), &bob, "The SSO login fails for everyone\n");
            let browser = Browser::new(&run);

            // No cookie: the sign-in page, and nothing about the work.
            let (status, headers, body) = browser.get("/dashboard", None).await;
            assert_eq!(status, 200);
            assert_eq!(header(&headers, "cache-control"), "no-store");
            assert_sign_in(&body, "signs you in here for 30 days");

            // A client may not have one; a member gets one only they see.
            let refused = chat_as(&run, &db, &at(0), &bob, "@keel dashboard\n");
            assert_eq!(
                refused.trim(),
                "[#acme only to @bob] keel: only team members can open the dashboard"
            );
            let said = chat_as(&run, &db, &at(0), &lea, "@keel dashboard\n");
            assert!(
                said.starts_with(&format!(
                "[#general only to @lea] keel: Your dashboard, one use, valid 10 minutes: http://{}/dashboard/login/",
                run.http
            )),
                "{said}"
            );
            let link = link_path(&said);
            assert_eq!(link.len(), "/dashboard/login/".len() + 64, "{link}");
            // Neither the link nor its token stays in the database: the outbox dropped its text once
            // it was sent, and the token is stored as its hash.
            let token = link.rsplit('/').next().expect("token").to_string();
            let store = keel::store::Store::open(&db.url).await.expect("store");
            let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM outbox")
                .fetch_all(store.pool())
                .await
                .expect("outbox");
            assert!(
                bodies.iter().any(|b| b.contains("(a sign-in link, removed once sent)")),
                "{bodies:?}"
            );
            let hashes: Vec<String> = sqlx::query_scalar("SELECT hash FROM dashboard_tokens")
                .fetch_all(store.pool())
                .await
                .expect("tokens");
            assert!(
                !bodies.iter().chain(&hashes).any(|b| b.contains(&token)),
                "the token is stored"
            );
            store.close().await;

            // Opening it signs lea in: a session cookie for 30 days, HttpOnly, SameSite=Lax (no
            // Secure on plain http on this machine), then the overview.
            let (status, headers, _) = browser.get(&link, None).await;
            assert_eq!(status, 303);
            assert_eq!(header(&headers, "location"), "/dashboard");
            let set = header(&headers, "set-cookie").to_string();
            assert!(set.starts_with("keel_session="), "{set}");
            for part in ["Path=/dashboard", "Max-Age=2592000", "HttpOnly", "SameSite=Lax"] {
                assert!(set.contains(part), "{set}");
            }
            assert!(!set.contains("Secure"), "{set}");
            let cookie = set.split(';').next().expect("name=value").to_string();
            let (status, _, page) = browser.get("/dashboard", Some(&cookie)).await;
            assert_eq!(status, 200, "{page}");
            assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
            assert!(
                page.contains("<h1>Overview</h1>") && page.contains("Signed in as <strong>lea</strong>"),
                "{page}"
            );
            assert!(
                page.contains("<th scope=\"row\">Escalations</th><td>0 of 1 new requests"),
                "{page}"
            );
            assert!(page.len() < 150 * 1024, "{} bytes", page.len());
            // Its stylesheet is named by its content and cached for good.
            let css = page
                .split("href=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a stylesheet");
            let (status, headers, _) = browser.get(css, None).await;
            assert_eq!(
                (status, header(&headers, "cache-control")),
                (200, "public, max-age=31536000, immutable")
            );

            // The task list, filtered to one client's overdue requests, and a task's timeline.
            let carol = ["--as", "carol", "--client", "globex", "--channel", "globex"];
            chat_as(
                &run,
                &db,
                &at(-60),
                &lea,
                "@keel client add globex \"Globex\" #globex\n",
            );
            chat_as(&run, &db, &at(-45), &carol, "Invoices are missing the VAT line\n");
            chat_as(&run, &db, &at(-40), &bob, "Please add a CSV export of the invoices\n");
            chat_as(
                &run,
                &db,
                &at(-35),
                &lea,
                "@keel due #1 in 5 mins\n@keel due #2 in 5 mins\n@keel assign #1 @lea\n",
            );
            let (status, _, list) = browser
                .get("/dashboard/tasks?client=acme&overdue=1", Some(&cookie))
                .await;
            assert_eq!(status, 200, "{list}");
            assert!(list.contains("<p role=\"status\">1 task</p>"), "{list}");
            assert!(
                list.contains("<a href=\"/dashboard/tasks/1\">The SSO login fails for everyone</a>"),
                "{list}"
            );
            assert!(!list.contains("VAT") && !list.contains("CSV export"), "{list}");
            assert!(list.contains("<option value=\"acme\" selected>acme</option>"), "{list}");
            let (_, _, all) = browser.get("/dashboard/tasks", Some(&cookie)).await;
            assert!(all.contains("<p role=\"status\">3 tasks</p>"), "{all}");
            let (_, _, found) = browser.get("/dashboard/tasks?q=csv", Some(&cookie)).await;
            assert!(
                found.contains("<p role=\"status\">1 task</p>") && found.contains("CSV export"),
                "{found}"
            );
            let (status, _, task) = browser.get("/dashboard/tasks/1", Some(&cookie)).await;
            assert_eq!(status, 200, "{task}");
            assert!(task.contains("<h1>#1 The SSO login fails for everyone</h1>"), "{task}");
            assert!(task.contains("<h2 id=\"timeline\">Timeline</h2>"), "{task}");
            assert!(
                task.contains(" · bob · created</li>") && task.contains(" · lea · due in 5 mins</li>"),
                "{task}"
            );
            // A task that is not there, and a path that is no number: a page saying so.
            let (status, _, missing) = browser.get("/dashboard/tasks/999", Some(&cookie)).await;
            assert_eq!(status, 404);
            assert!(missing.contains("<h1>Not found</h1>") && missing.contains("<p>#999 does not exist."), "{missing}");
            let (status, _, missing) = browser.get("/dashboard/tasks/%3Cb%3E", Some(&cookie)).await;
            assert_eq!(status, 404);
            assert!(missing.contains("<p>&quot;&lt;b&gt;&quot; is not a task number."), "{missing}");
            // The people page: lea owns #1, which is overdue.
        let (status, _, people) = browser.get("/dashboard/people", Some(&cookie)).await;
        assert_eq!(status, 200, "{people}");
        assert!(
            people.contains(
                "<th scope=\"row\">lea</th><td>admin</td><td><a href=\"/dashboard/tasks?owner=lea\">1</a></td><td>1</td><td>UTC</td><td>09:00–17:00</td>"
            ),
            "{people}"
        );
        let (status, _, body) = browser.get("/dashboard/tasks/1", None).await;
            assert_eq!(status, 200);
            assert_sign_in(&body, "signs you in here");

            // The link worked once; a link older than 10 minutes does not work; a made-up one neither.
            let (status, _, body) = browser.get(&link, None).await;
            assert_eq!(status, 200);
            assert_sign_in(&body, "That link was used already");
            let old = dashboard_link(&run, &db, "lea", &at(-11));
            let (status, _, body) = browser.get(&old, None).await;
            assert_eq!(status, 200);
            assert_sign_in(&body, "That link expired");
            // A week after it expired a link is forgotten, at the next link keel makes.
            let link_at = |now: &str| dashboard_link(&run, &db, "lea", now);
            let ancient = link_at(&at(-8 * 24 * 60));
            let (_, _, body) = browser.get(&ancient, None).await;
            assert_sign_in(&body, "That link expired");
            link_at(&at(0));
            let (_, _, body) = browser.get(&ancient, None).await;
            assert_sign_in(&body, "That is not a sign-in link keel gave");
            let (_, _, body) = browser.get(&format!("/dashboard/login/{}", "0".repeat(64)), None).await;
            assert_sign_in(&body, "That is not a sign-in link keel gave");
            let nobody = keel(&["dashboard", "link", "--as", "nobody", "--db", &db.url], "");
            assert_eq!(nobody.status.code(), Some(1));
            assert_eq!(
                String::from_utf8_lossy(&nobody.stderr).trim(),
                "keel: no team member is called nobody (keel learns people when they first write)"
            );

            // Signing out ends the session: the same cookie shows the sign-in page again.
            let (status, headers) = browser.logout(&cookie).await;
            assert_eq!(status, 303);
            assert!(header(&headers, "set-cookie").contains("Max-Age=0"));
            let (status, _, body) = browser.get("/dashboard", Some(&cookie)).await;
            assert_eq!(status, 200);
            assert_sign_in(&body, "signs you in here");
        });
    }
);

/// A signed-in cookie for `who`, from a link printed by `keel dashboard link`.
async fn signed_in(run: &KeelRun, db: &TestDb, browser: &Browser, who: &str) -> String {
    let link = dashboard_link(run, db, who, &chrono::Utc::now().to_rfc3339());
    let (status, headers, _) = browser.get(&link, None).await;
    assert_eq!(status, 303);
    header(&headers, "set-cookie")
        .split(';')
        .next()
        .expect("a cookie")
        .to_string()
}

on_both_backends!(the_standups_page_shows_each_days_answers, |backend| {
    let db = TestDb::new(backend);
    let lea = ["--as", "lea", "--channel", "general"];
    chat(
        &db,
        "2026-11-22T12:00:00Z",
        &lea,
        "@keel standup set \"0 9 * * 1-5\" questions \"Done?\" \"Next?\" in #standup\n",
    );
    chat(&db, "2026-11-22T12:00:00Z", &["--as", "sam"], "back\n");
    for (now, who, lines) in [
        ("2026-11-23T09:05:00Z", "lea", "shipped the export\ninvoices\n"),
        ("2026-11-24T09:10:00Z", "sam", "fixed the <b>login</b>\nholidays\n"),
    ] {
        let day = &now[..10];
        let out = keel(&["tick", "--db", &db.url, "--now", &format!("{day}T09:00:00Z")], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = chat(&db, now, &["--as", who], lines);
        assert!(said.contains("Thanks, that's your standup"), "{said}");
    }
    // Stopped, so `keel run` prompts nobody today.
    chat(&db, "2026-11-25T12:00:00Z", &lea, "@keel standup off\n");
    support::runtime().block_on(async {
        let run = KeelRun::serving(&db);
        let browser = Browser::new(&run);
        let cookie = signed_in(&run, &db, &browser, "lea").await;
        let (status, _, page) = browser.get("/dashboard/standups", Some(&cookie)).await;
        assert_eq!(status, 200, "{page}");
        // Newest day first; each member's answers under their name; text escaped.
        let tuesday = page.find("<h2>Tue 24 Nov</h2>").expect("Tuesday");
        let monday = page.find("<h2>Mon 23 Nov</h2>").expect("Monday");
        assert!(tuesday < monday, "{page}");
        assert!(page.contains("<p>1 of 2 answered · no answer: lea</p>"), "{page}");
        assert!(page.contains("<p>1 of 2 answered · no answer: sam</p>"), "{page}");
        assert!(
            page.contains(
                "<h3>lea</h3><dl><dt>Done?</dt><dd>shipped the export</dd><dt>Next?</dt><dd>invoices</dd></dl>"
            ),
            "{page}"
        );
        assert!(page.contains("<dd>fixed the &lt;b&gt;login&lt;/b&gt;</dd>"), "{page}");
        let (_, _, signed_out) = browser.get("/dashboard/standups", None).await;
        assert!(!signed_out.contains("shipped"), "{signed_out}");
    });
});
