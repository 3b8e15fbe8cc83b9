//! The dashboard in a real Chromium (Debian's, through chromedriver), driven as a member uses it:
//! the link asked for in chat, the overview, the task list filtered with its form, a task's
//! timeline, the clients page with a silent client flagged; a client refused; an expired link and
//! no cookie show the sign-in page. Each page is saved as a screenshot under the test's
//! temporary directory, has no console errors, is under 150 KB, and passes the Nu Html Checker
//! and an accessibility check (one h1, no skipped heading level, every field labelled, every
//! table with column headers). On SQLite and PostgreSQL, against `keel run`.

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use support::{chat_as, dashboard_link, link_path, KeelRun, TestDb};

/// chromedriver on a free port on 127.0.0.1, stopped with its browsers when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = support::free_port();
        // Its own process group, so a failing test takes the browsers it started down with it.
        let child = Command::new("/usr/bin/chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/browser install puts it in /usr/bin)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium that keeps its console messages.
async fn chromium(driver: &Driver) -> Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::rustls()
        .expect("a connector")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Where the pages go: screenshots and the HTML as served, for the checker.
struct Pages {
    dir: PathBuf,
    saved: Vec<PathBuf>,
    http: reqwest::Client,
    base: String,
    driver: String,
}

impl Pages {
    /// The page the browser shows now: a screenshot, no console errors, and its HTML as keel
    /// served it (with the browser's cookie), under 150 KB.
    async fn keep(&mut self, browser: &Client, name: &str) -> String {
        let png = browser.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.dir.join(format!("{name}.png")), png).expect("save the screenshot");
        let errors = self.console_errors(browser).await;
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        let url = browser.current_url().await.expect("a URL");
        let mut request = self
            .http
            .get(format!("{}{}", self.base, &url[url::Position::BeforePath..]));
        if let Ok(cookie) = browser.get_named_cookie("keel_session").await {
            request = request.header("cookie", format!("keel_session={}", cookie.value()));
        }
        let html = request
            .send()
            .await
            .expect("keel answers")
            .text()
            .await
            .expect("a body");
        assert!(html.len() < 150 * 1024, "{name}: {} bytes", html.len());
        let path = self.dir.join(format!("{name}.html"));
        std::fs::write(&path, &html).expect("save the page");
        self.saved.push(path);
        let problems = accessibility(browser).await;
        assert!(problems.is_empty(), "{name}: {problems:?}");
        html
    }

    /// The console's errors since the last look (chromedriver's log endpoint).
    async fn console_errors(&self, browser: &Client) -> Vec<String> {
        let session = browser.session_id().await.expect("a session").expect("an id");
        let body = self
            .http
            .post(format!("{}/session/{session}/se/log", self.driver))
            .header("content-type", "application/json")
            .body(json!({ "type": "browser" }).to_string())
            .send()
            .await
            .expect("chromedriver answers")
            .text()
            .await
            .expect("a body");
        let answer: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        answer["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no log: {answer}"))
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].to_string())
            .collect()
    }

    /// Every saved page through the Nu Html Checker, errors only.
    fn validate(&self) {
        let jar = std::env::var("KEEL_VNU_JAR").unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{home}/.cache/keel-vnu/node_modules/vnu-jar/build/dist/vnu.jar")
        });
        assert!(
            Path::new(&jar).exists(),
            "no Nu Html Checker at {jar}: run scripts/browser install"
        );
        let out = Command::new("java")
            .args(["-jar", &jar, "--errors-only", "--format", "gnu"])
            .args(&self.saved)
            .output()
            .expect("java runs");
        assert!(
            out.status.success(),
            "the HTML is not valid:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What a screen reader needs, read from the page as the browser built it.
async fn accessibility(browser: &Client) -> Vec<String> {
    let script = r#"
        const problems = [];
        const h1 = document.querySelectorAll('h1').length;
        if (h1 !== 1) problems.push(h1 + ' h1 elements');
        let last = 0;
        for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
            const level = Number(h.tagName[1]);
            if (level > last + 1) problems.push('heading ' + h.tagName + ' after h' + last + ': ' + h.textContent);
            last = level;
        }
        for (const f of document.querySelectorAll('input, select, textarea')) {
            if (f.type === 'hidden' || f.type === 'submit') continue;
            if (f.labels.length === 0 && !f.getAttribute('aria-label')) problems.push('no label for ' + (f.name || f.id));
        }
        for (const t of document.querySelectorAll('table')) {
            if (!t.querySelector('th')) problems.push('a table without headers');
        }
        if (!document.documentElement.lang) problems.push('no lang');
        return problems;
    "#;
    let found = browser.execute(script, vec![]).await.expect("the script runs");
    found
        .as_array()
        .map(|a| a.iter().map(|p| p.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// The text of each cell of a table row.
async fn cells(browser: &Client, row: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cell in browser
        .find_all(Locator::Css(&format!("{row} > *")))
        .await
        .expect("cells")
    {
        out.push(cell.text().await.expect("text"));
    }
    out
}

/// Clicks and waits for the next page.
async fn click(browser: &Client, locator: Locator<'_>) {
    let before = browser.current_url().await.expect("a URL");
    browser
        .find(locator)
        .await
        .expect("something to click")
        .click()
        .await
        .expect("a click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.current_url().await.expect("a URL") == before {
        assert!(Instant::now() < deadline, "the click on {before} went nowhere");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_both_backends!(a_member_works_through_the_dashboard_in_chromium, |backend| {
    support::runtime().block_on(async {
        let db = TestDb::new(backend);
        let run = KeelRun::serving(&db);
        let now = chrono::Utc::now();
        let at = |minutes: i64| (now + chrono::Duration::minutes(minutes)).to_rfc3339();
        let lea = ["--as", "lea", "--channel", "general"];
        let bob = ["--as", "bob", "--client", "acme", "--channel", "acme"];
        let carol = ["--as", "carol", "--client", "globex", "--channel", "globex"];
        // globex has been a client for 20 days and nobody has said a word there since: silent.
        chat_as(
            &run,
            &db,
            &at(-20 * 24 * 60),
            &lea,
            "@keel client add globex \"Globex\" #globex\n",
        );
        chat_as(&run, &db, &at(-60), &lea, "@keel client add acme \"Acme Corp\" #acme\n");
        chat_as(&run, &db, &at(-50), &bob, "The SSO login fails for everyone\n");
        chat_as(&run, &db, &at(-40), &bob, "Please add a CSV export of the invoices\n");
        chat_as(
            &run,
            &db,
            &at(-35),
            &lea,
            "@keel due #1 in 5 mins\n@keel assign #1 @lea\n@keel due #2 next month\n",
        );
        // #3 is answered and done within its targets, and bob gives a 9: acme's SLA and NPS.
        chat_as(&run, &db, &at(-25), &bob, "Please reset the password for jo@acme.com\n");
        let lea_at_acme = ["--as", "lea", "--channel", "acme"];
        chat_as(&run, &db, &at(-24), &lea_at_acme, "Done, jo can sign in again\n");
        chat_as(&run, &db, &at(-23), &lea, "@keel done #3\n@keel survey nps acme\n");
        let thanks = chat_as(&run, &db, &at(-22), &bob, "9\n");
        assert!(thanks.contains("9 of 10 recorded"), "{thanks}");

        // A client may not have a link; a member gets one only they see.
        let refused = chat_as(&run, &db, &at(0), &carol, "@keel dashboard\n");
        assert_eq!(
            refused.trim(),
            "[#globex only to @carol] keel: only team members can open the dashboard"
        );
        let base = format!("http://{}", run.http);
        let link = base.clone() + &link_path(&chat_as(&run, &db, &at(0), &lea, "@keel dashboard\n"));
        let expired = base + &dashboard_link(&run, &db, "lea", &at(-11));

        let driver = Driver::start();
        let browser = chromium(&driver).await;
        let shots = run.dir.path().join("screenshots");
        std::fs::create_dir_all(&shots).expect("a folder");
        let mut pages = Pages {
            dir: shots.clone(),
            saved: Vec::new(),
            http: reqwest::Client::builder().no_proxy().build().expect("HTTP"),
            base: format!("http://{}", run.http),
            driver: driver.url.clone(),
        };

        // Without a cookie, and with an expired link: the sign-in page, never data.
        browser
            .goto(&format!("http://{}/dashboard/tasks/1", run.http))
            .await
            .expect("goto");
        let body = pages.keep(&browser, "signed-out").await;
        assert!(body.contains("Say <code>dashboard</code> to keel in chat"), "{body}");
        assert!(!body.contains("SSO") && !body.contains("acme"), "{body}");
        browser.goto(&expired).await.expect("goto");
        let body = pages.keep(&browser, "expired-link").await;
        assert!(body.contains("That link expired") && !body.contains("SSO"), "{body}");

        // The link signs lea in and lands on the overview: this week's figures and the chart.
        browser.goto(&link).await.expect("goto");
        let overview = pages.keep(&browser, "overview").await;
        assert_eq!(text_of(&browser, "h1").await, "Overview");
        let escalations = browser
            .find(Locator::XPath("//tr[th = 'Escalations']/td"))
            .await
            .expect("the escalations row")
            .text()
            .await
            .expect("text");
        assert!(escalations.starts_with("0 of 3 new requests"), "{escalations}");
        assert!(overview.contains("<svg role=\"img\""), "no chart");
        assert!(
            browser.find(Locator::Css("figure.chart svg")).await.is_ok(),
            "the chart is not drawn"
        );

        // The task list, filtered with its form to acme's overdue work.
        click(&browser, Locator::LinkText("Tasks")).await;
        assert_eq!(text_of(&browser, "p[role=status]").await, "2 tasks");
        browser
            .find(Locator::Id("client"))
            .await
            .expect("the client filter")
            .select_by_value("acme")
            .await
            .expect("acme");
        browser
            .find(Locator::Id("overdue"))
            .await
            .expect("overdue")
            .click()
            .await
            .expect("tick");
        click(&browser, Locator::Css("form.filters button[type=submit]")).await;
        let url = browser.current_url().await.expect("a URL");
        assert!(
            url.as_str().contains("client=acme") && url.as_str().contains("overdue=1"),
            "{url}"
        );
        let list = pages.keep(&browser, "tasks-acme-overdue").await;
        assert_eq!(text_of(&browser, "p[role=status]").await, "1 task");
        assert!(
            list.contains("The SSO login fails for everyone") && !list.contains("CSV export"),
            "{list}"
        );

        // One task: its card with the SLA clocks, and its timeline.
        click(&browser, Locator::LinkText("The SSO login fails for everyone")).await;
        pages.keep(&browser, "task-1").await;
        assert_eq!(text_of(&browser, "h1").await, "#1 The SSO login fails for everyone");
        let timeline = text_of(&browser, "ol.timeline").await;
        for step in ["bob · created", "lea · due in 5 mins", "lea · assigned → @lea"] {
            assert!(timeline.contains(step), "{step:?} not in {timeline}");
        }
        let card = text_of(&browser, "table.card").await;
        assert!(card.contains("Resolution SLA"), "{card}");

        // The clients page: globex flagged silent, acme with its open and overdue work.
        click(&browser, Locator::LinkText("Clients")).await;
        pages.keep(&browser, "clients").await;
        let globex = cells(&browser, "tbody tr:last-child").await;
        assert_eq!(
            globex[..5],
            ["Globex (globex)", "none", "0", "0", "never silent"],
            "{globex:?}"
        );
        let acme = cells(&browser, "tbody tr:first-child").await;
        assert_eq!(acme[..4], ["Acme Corp (acme)", "none", "2", "1"], "{acme:?}");
        assert_eq!(acme[5..7], ["100% (1 of 1)", "+100"], "{acme:?}");
        assert!(!acme[4].contains("silent"), "{acme:?}");

        click(&browser, Locator::LinkText("People")).await;
        pages.keep(&browser, "people").await;
        click(&browser, Locator::LinkText("Standups")).await;
        pages.keep(&browser, "standups").await;

        // Signed out: the cookie is gone and every page is the sign-in page again.
        click(&browser, Locator::Css("header form button")).await;
        browser
            .goto(&format!("http://{}/dashboard/clients", run.http))
            .await
            .expect("goto");
        let body = pages.keep(&browser, "after-sign-out").await;
        assert!(
            body.contains("Say <code>dashboard</code>") && !body.contains("Globex"),
            "{body}"
        );

        pages.validate();
        browser.close().await.expect("close");
        for name in [
            "overview",
            "tasks-acme-overdue",
            "task-1",
            "clients",
            "people",
            "standups",
        ] {
            assert!(shots.join(format!("{name}.png")).exists(), "{name}");
        }
        // KEEL_SCREENSHOTS=DIR keeps a copy of the screenshots after the test's folder is gone.
        if let Ok(keep) = std::env::var("KEEL_SCREENSHOTS") {
            let keep = Path::new(&keep).join(backend);
            std::fs::create_dir_all(&keep).expect("a folder");
            for entry in std::fs::read_dir(&shots).expect("screenshots").flatten() {
                std::fs::copy(entry.path(), keep.join(entry.file_name())).expect("a copy");
            }
        }
    });
});
