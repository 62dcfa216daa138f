//! The dashboard in a real headless Chromium. One test walks through it as people would, in
//! order (one browser at a time on a small machine): sign in with a wrong token and then the
//! admin's, see submitted jobs and their reasons, filter, follow a log, cancel by clicking,
//! look at the pools, spend and contracts, watch the server restart under the page, and sign
//! in as a tenant that sees no other tenant's job. Each page is photographed.

use super::webdriver::{self, Browser, Driver};
use super::{Listening, config_text, service};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Where the screenshots go: `target/dashboard-screenshots` (or under `CARGO_TARGET_DIR`).
fn shots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("dashboard-screenshots")
}

/// Photographs the whole page (the window grown to its height, at most 2400 px).
async fn shoot(b: &Browser, name: &str, width: u32) {
    // The window holds more than the page's viewport: grow it by what the viewport lacks.
    let sizes = b
        .eval(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
            json!([]),
        )
        .await;
    let height = sizes[0].as_u64().unwrap_or(900) + sizes[1].as_u64().unwrap_or(0);
    b.resize(width, height.clamp(600, 2400) as u32).await;
    let path = shots().join(format!("{name}.png"));
    b.screenshot(&path).await;
    b.resize(1280, 900).await;
}

async fn submit(server: &Listening, token: &str, yaml: &str) -> i64 {
    let v: Value = reqwest::Client::new()
        .post(server.url("/v1/jobs"))
        .bearer_auth(token)
        .json(&json!({ "yaml": yaml }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("submit failed: {v}"))
}

async fn job_state(server: &Listening, id: i64) -> String {
    let v: Value = reqwest::Client::new()
        .get(server.url(&format!("/v1/jobs/{id}")))
        .bearer_auth("admin-token-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["job"]["state"].as_str().unwrap_or_default().to_string()
}

/// Waits (bounded) until the scheduler's reason for job `id` contains `what`.
async fn wait_reason(server: &Listening, id: i64, what: &str) {
    let deadline = std::time::Instant::now() + webdriver::PAGE_DEADLINE;
    loop {
        let v: Value = reqwest::Client::new()
            .get(server.url(&format!("/v1/jobs/{id}/explain")))
            .bearer_auth("admin-token-1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let reason = v["reason"].as_str().unwrap_or_default();
        if reason.contains(what) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {id} never gave a reason with '{what}'; it says: {reason}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn sign_in(b: &Browser, token: &str) {
    b.type_into("#token", token).await;
    b.click("#signin-button").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_real_browser() {
    let test = "the_dashboard_in_a_real_browser";
    let Some((chromium, chromedriver)) = webdriver::browser(test) else {
        return;
    };
    let (svc, dir) = service(&config_text()).await;
    let mut server = Listening::start(svc.clone(), "127.0.0.1:0".parse().unwrap()).await;
    let driver = Driver::start(&chromedriver, &dir.path().join("chromedriver.log")).await;
    let b = driver.session(&chromium, &dir.path().join("profile")).await;

    // Jobs: one runs and prints a line every 100 ms on the on-demand pool (it needs more than
    // the committed pool has); one is refused by the committed pool's zone and then holds the
    // on-demand pool's reservation; one waits behind it.
    let train = submit(
        &server,
        "research-token-1",
        "name: train-llm\nrun: for i in $(seq 1 3000); do echo \"step $i loss 0.$((9000 - i))\"; sleep 0.1; done\nresources: {accelerators: H100:3}\n",
    )
    .await;
    wait_reason(&server, train, "running").await;
    let eval = submit(
        &server,
        "vision-token-1",
        "name: vision-eval\nrun: echo evaluating; sleep 600\nresources: {accelerators: H100:2}\n",
    )
    .await;
    wait_reason(&server, eval, "capacity is reserved for it").await;
    let check = submit(
        &server,
        "research-token-1",
        "name: quick-check\nrun: echo all good\nresources: {accelerators: H100:1}\n",
    )
    .await;

    // Sign-in: a wrong token is refused in words, the admin's lets in.
    b.goto(&server.url("/")).await;
    b.find("#token").await;
    sign_in(&b, "not-a-token").await;
    b.wait_text("#signin-error", "the refusal", |t| {
        t.contains("not accepted")
    })
    .await;
    shoot(&b, "signin", 1280).await;
    sign_in(&b, "admin-token-1").await;
    b.wait_text("#who", "the admin", |t| t == "Signed in: admin")
        .await;
    let cookies = b.cookies().await;
    let session = cookies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "spillway_session")
        .unwrap_or_else(|| panic!("no session cookie: {cookies}"));
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    assert_eq!(
        b.eval("return document.cookie;", json!([])).await,
        "",
        "the page's scripts cannot read the session"
    );

    // The jobs, with where they run and the scheduler's reason in words.
    let rows = b
        .wait_text(
            "#job-rows",
            "the three jobs with the reasons of the waiting ones",
            |t| {
                t.contains("train-llm")
                    && t.contains("running (attempt 1): placed on pool od")
                    && t.contains("reservation")
            },
        )
        .await;
    let eval_row = b.text_of(&format!("tr[data-job=\"{eval}\"]")).await;
    assert!(
        eval_row.contains("queued: waiting for H100:2 on pool od"),
        "{eval_row}\n{rows}"
    );
    let check_row = b.text_of(&format!("tr[data-job=\"{check}\"]")).await;
    assert!(
        check_row.contains(&format!("behind job {eval} which holds the reservation")),
        "{check_row}\n{rows}"
    );
    // Every control has a label (for screen readers and for clicking its name).
    let unlabelled = b
        .eval(
            "return [...document.querySelectorAll('input, select, button')].filter(e => !(e.labels && e.labels.length) && !e.textContent.trim()).map(e => e.outerHTML);",
            json!([]),
        )
        .await;
    assert_eq!(unlabelled, json!([]), "controls without a label");
    shoot(&b, "jobs", 1280).await;
    // On a phone.
    b.resize(390, 844).await;
    b.screenshot(&shots().join("jobs-phone.png")).await;
    b.resize(1280, 900).await;

    // Filters: by state, and a search by name typed into the box.
    b.goto(&server.url("/#/jobs?state=queued")).await;
    b.wait_text("#job-rows", "only the queued job", |t| {
        t.contains("vision-eval") && !t.contains("train-llm")
    })
    .await;
    b.goto(&server.url("/#/jobs")).await;
    b.type_into("#q", "train").await;
    b.wait_text("#job-rows", "only train-llm", |t| {
        t.contains("train-llm") && !t.contains("quick-check")
    })
    .await;
    let hash = b.eval("return location.hash;", json!([])).await;
    assert_eq!(hash, "#/jobs?q=train");

    // Follow a log: open the job by its link, and watch its output grow.
    b.click(&format!("a[href=\"#/jobs/{train}\"]")).await;
    let first = b
        .wait_text("#log", "a few steps", |t| t.contains("step 5 "))
        .await;
    let seen = first.lines().count();
    b.wait_text("#log", "more steps than before", |t| {
        t.lines().count() >= seen + 10
    })
    .await;
    b.wait_text("#job-reason", "the reason", |t| {
        t.starts_with("running (attempt")
    })
    .await;
    b.wait_text("#attempt-rows", "the running attempt", |t| {
        t.contains("od") && t.contains("running")
    })
    .await;
    shoot(&b, "job", 1280).await;

    // Cancel by clicking, and confirm with the keyboard: the confirmation takes the focus.
    b.click("#cancel").await;
    b.find("#cancel-confirm").await;
    assert_eq!(
        b.eval("return document.activeElement.id;", json!([])).await,
        "cancel-confirm"
    );
    b.press('\u{E007}').await;
    b.wait_text("#job-facts", "the cancelled state", |t| {
        t.contains("cancelled")
    })
    .await;
    b.wait_text("#log-state", "the end of the log", |t| {
        t.starts_with("end of stdout")
    })
    .await;
    assert_eq!(job_state(&server, train).await, "cancelled");
    assert!(
        !b.text_of("#job-actions").await.contains("Cancel job"),
        "no cancel button for a cancelled job"
    );

    // An id that does not exist.
    b.goto(&server.url("/#/jobs/999")).await;
    b.wait_text("#job-error", "not found", |t| {
        t == "Job 999 not found: no such job, or it belongs to another tenant."
    })
    .await;

    // Pools, spend and contracts.
    b.goto(&server.url("/#/pools")).await;
    b.wait_text("#pool-rows", "both pools", |t| {
        t.contains("commit") && t.contains("od")
    })
    .await;
    b.wait_text("#blocks", "the failover block", |t| {
        t.contains("blocked for every job until")
    })
    .await;
    b.find("#utilization svg path.series").await;
    shoot(&b, "pools", 1280).await;
    b.goto(&server.url("/#/spend")).await;
    b.wait_text("#spend-total", "the total", |t| t.contains("spent in all"))
        .await;
    b.find("#spend-tenant svg path.series").await;
    b.wait_text("#usage-rows", "both tenants", |t| {
        t.contains("research") && t.contains("vision")
    })
    .await;
    shoot(&b, "spend", 1280).await;
    b.goto(&server.url("/#/contracts")).await;
    let card = b
        .wait_text("#contracts", "the contract and its verdict", |t| {
            t.contains("gcp-commit") && t.contains("shortfall")
        })
        .await;
    assert!(card.contains("Scheduled by now"), "{card}");
    b.find("#contracts svg path.projection").await;
    shoot(&b, "contracts", 1280).await;

    // The server restarts under the page: the page says so, keeps what it showed, and
    // recovers by itself once the server is back (the session survives: same data directory).
    b.goto(&server.url("/#/pools")).await;
    b.wait_text("#pool-rows", "both pools", |t| t.contains("commit"))
        .await;
    let addr = server.stop().await;
    b.wait_text("#banner", "the restart", |t| {
        t.starts_with("Cannot reach the Spillway server")
    })
    .await;
    assert!(
        b.text_of("#pool-rows").await.contains("commit"),
        "what was read stays"
    );
    shoot(&b, "restarting", 1280).await;
    server = Listening::start(svc.clone(), addr).await;
    b.wait_text("#banner", "the banner gone", |t| t.is_empty())
        .await;
    b.wait_text("#who", "still signed in", |t| t == "Signed in: admin")
        .await;

    // A tenant sees its own jobs only, and another tenant's job is "not found".
    b.click("#signout").await;
    b.find("#token").await;
    sign_in(&b, "vision-token-1").await;
    b.wait_text("#who", "the tenant", |t| t == "Signed in: tenant vision")
        .await;
    b.click("#nav a[data-page=\"jobs\"]").await;
    let rows = b
        .wait_text("#job-rows", "vision's job", |t| t.contains("vision-eval"))
        .await;
    assert!(
        !rows.contains("train-llm") && !rows.contains("quick-check"),
        "{rows}"
    );
    assert_eq!(b.text_of("#job-count").await, "1 job");
    assert!(
        b.eval(
            "return document.getElementById('tenant') === null;",
            json!([])
        )
        .await
            == true,
        "no tenant filter for a tenant"
    );
    shoot(&b, "jobs-tenant", 1280).await;
    b.goto(&server.url(&format!("/#/jobs/{check}"))).await;
    b.wait_text("#job-error", "not found", |t| {
        t.starts_with(&format!("Job {check} not found"))
    })
    .await;

    // A session cookie this server did not make: a clear message, never a blank page.
    b.clear_cookies().await;
    b.eval(
        "document.cookie = 'spillway_session=v1.1.abc.def; path=/';",
        json!([]),
    )
    .await;
    b.goto(&server.url("/#/jobs")).await;
    b.eval("location.reload();", json!([])).await;
    b.wait_text("#signin-error", "the message", |t| {
        t.starts_with("your dashboard session is not valid here")
    })
    .await;

    // A server with no tokens (as `spillway serve` with no configuration): no sign-in.
    let (open, _open_dir) = service("[[pool]]\nname = \"local\"\n").await;
    let open_server = Listening::start(open, "127.0.0.1:0".parse().unwrap()).await;
    let hello = submit(&open_server, "unused", "name: hello\nrun: echo hello\n").await;
    b.goto(&open_server.url("/")).await;
    b.wait_text("#who", "the open mode", |t| {
        t == "Signed in: open mode (no tokens)"
    })
    .await;
    b.wait_text(&format!("tr[data-job=\"{hello}\"]"), "the job", |t| {
        t.contains("hello") && t.contains("succeeded")
    })
    .await;
    open_server.stop().await;

    b.quit().await;
    server.stop().await;
    drop(driver);
    // The vision job is still running: cancel it so that its process ends with the test.
    let _ = svc.cancel(spillway_server::job::JobId(eval)).await;
}
