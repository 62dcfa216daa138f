//! The dashboard over HTTP in process: the page and its headers, sign-in into the session
//! cookie, the cookie under the API's authorization, and the history's spend adding up to
//! `/v1/usage` (pools rented by VMs included).

use super::{config_text, service};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        headers,
        body,
    }
}

const PAGE: (&str, &str) = ("x-spillway-dashboard", "1");

/// Signs in with `token`; returns the `Cookie` header to send.
async fn sign_in(app: &Router, token: &str) -> String {
    let a = call(
        app,
        "POST",
        "/ui/session",
        &[PAGE],
        &json!({ "token": token }).to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let set = a.headers[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// Submits each YAML spec as the admin, waits until every job has succeeded, and returns the
/// rows of `/ui/jobs`.
async fn run_to_success(app: &Router, specs: &[&str]) -> Value {
    let admin = ("authorization", "Bearer admin-token-1");
    let json_ct = ("content-type", "application/json");
    for yaml in specs {
        let a = call(
            app,
            "POST",
            "/v1/jobs",
            &[admin, json_ct],
            &json!({ "yaml": yaml }).to_string(),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let mut rows = Value::Null;
    for _ in 0..400 {
        rows = call(app, "GET", "/ui/jobs", &[admin], "").await.body;
        if rows["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] == "succeeded")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let jobs = rows["jobs"].as_array().unwrap();
    assert!(jobs.iter().all(|j| j["state"] == "succeeded"), "{rows}");
    rows
}

#[tokio::test]
async fn the_open_server_serves_the_page_with_its_assets_and_no_sign_in() {
    let (svc, _dir) =
        service("[[pool]]\nname = \"gpu\"\naccelerator = \"H100\"\ncount = 2\n").await;
    let app = spillway_server::api::router(svc);
    let page = call(&app, "GET", "/", &[], "").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = page.body.as_str().unwrap();
    assert!(html.contains("<script src=\"/ui/app.js\"></script>"));
    // Every asset the page names is served by this binary (nothing from elsewhere).
    for asset in [
        "/ui/app.js",
        "/ui/charts.js",
        "/ui/style.css",
        "/ui/icon.svg",
    ] {
        assert!(html.contains(asset), "{asset}");
        let a = call(&app, "GET", asset, &[], "").await;
        assert_eq!(a.status, StatusCode::OK, "{asset}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external URLs"
    );
    let missing = call(&app, "GET", "/ui/nothing.js", &[], "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body["error"]["message"],
        "no dashboard file nothing.js"
    );
    let who = call(&app, "GET", "/ui/session", &[], "").await;
    assert_eq!(who.status, StatusCode::OK);
    assert_eq!(who.body["mode"], "open");
    assert_eq!(who.body["pools"], json!(["gpu"]));
}

#[tokio::test]
async fn a_token_signs_in_to_an_http_only_same_site_cookie_that_the_api_accepts() {
    let (svc, _dir) = service(&config_text()).await;
    let app = spillway_server::api::router(svc);

    let none = call(&app, "GET", "/ui/session", &[], "").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["error"]["message"], "sign in with your token");
    let wrong = call(
        &app,
        "POST",
        "/ui/session",
        &[PAGE],
        r#"{"token": "nope-nope-nope"}"#,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body["error"]["message"],
        "this token is not accepted by this server: check it (the CLI's --token or SPILLWAY_TOKEN)"
    );
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));
    let cross_site = call(
        &app,
        "POST",
        "/ui/session",
        &[],
        r#"{"token": "admin-token-1"}"#,
    )
    .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    let good = call(
        &app,
        "POST",
        "/ui/session",
        &[PAGE],
        r#"{"token": "vision-token-1"}"#,
    )
    .await;
    assert_eq!(good.status, StatusCode::OK);
    assert_eq!(good.body["mode"], "tenant");
    assert_eq!(good.body["tenant"], "vision");
    assert_eq!(good.body["tenants"], json!(["vision"]));
    let set = good.headers[header::SET_COOKIE].to_str().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(
        !set.contains("vision-token-1"),
        "the cookie does not carry the token"
    );
    let vision = set.split(';').next().unwrap().to_string();

    // The cookie stands for the token under the API's own rules: a tenant sees its own jobs.
    let research = sign_in(&app, "research-token-1").await;
    let submit = |cookie: String, name: &'static str| {
        let app = app.clone();
        async move {
            call(
                &app,
                "POST",
                "/v1/jobs",
                &[("cookie", &cookie), PAGE, ("content-type", "application/json")],
                &json!({ "yaml": format!("name: {name}\nrun: sleep 30\nresources: {{accelerators: H100:1}}\n") })
                    .to_string(),
            )
            .await
        }
    };
    let mine = submit(vision.clone(), "mine").await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.body);
    let theirs = submit(research.clone(), "theirs").await;
    let theirs_id = theirs.body["id"].as_i64().unwrap();
    let list = call(&app, "GET", "/v1/jobs", &[("cookie", &vision)], "").await;
    let names: Vec<&str> = list.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mine"]);
    let rows = call(
        &app,
        "GET",
        "/ui/jobs?tenant=research",
        &[("cookie", &vision)],
        "",
    )
    .await;
    let names: Vec<&str> = rows.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mine"],
        "a tenant's filter cannot widen what it sees"
    );
    let other = call(
        &app,
        "GET",
        &format!("/v1/jobs/{theirs_id}"),
        &[("cookie", &vision)],
        "",
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.body["error"]["message"],
        format!("job {theirs_id} not found")
    );

    // A change with the cookie must come from the page (a cross-site form cannot add the header).
    let forged = call(
        &app,
        "POST",
        &format!("/v1/jobs/{theirs_id}/cancel"),
        &[("cookie", &research)],
        "",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cancel = call(
        &app,
        "POST",
        &format!("/v1/jobs/{theirs_id}/cancel"),
        &[("cookie", &research), PAGE],
        "",
    )
    .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);

    // A cookie that is not ours, and signing out.
    let junk = call(
        &app,
        "GET",
        "/v1/jobs",
        &[("cookie", "spillway_session=v1.1.abc.def")],
        "",
    )
    .await;
    assert_eq!(junk.status, StatusCode::UNAUTHORIZED);
    assert!(
        junk.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("your dashboard session is not valid here"),
        "{}",
        junk.body
    );
    let out = call(&app, "DELETE", "/ui/session", &[("cookie", &vision)], "").await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // A bearer token still works as before, and wins over a cookie.
    let bearer = call(
        &app,
        "GET",
        "/v1/jobs",
        &[
            ("authorization", "Bearer admin-token-1"),
            ("cookie", &vision),
        ],
        "",
    )
    .await;
    assert_eq!(bearer.body["jobs"].as_array().unwrap().len(), 2);
    // Its process ends with the test.
    let mine = mine.body["id"].as_i64().unwrap();
    let stop = call(
        &app,
        "POST",
        &format!("/v1/jobs/{mine}/cancel"),
        &[("authorization", "Bearer admin-token-1")],
        "",
    )
    .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.body);
}

#[tokio::test]
async fn job_rows_say_where_and_why_and_history_adds_up_to_usage() {
    let (svc, _dir) = service(&config_text()).await;
    let app = spillway_server::api::router(svc);
    let admin = ("authorization", "Bearer admin-token-1");
    let rows = run_to_success(
        &app,
        &[
            "name: short-a\ntenant: research\nrun: sleep 0.2\nresources: {accelerators: H100:2}\n",
            "name: short-b\ntenant: vision\nrun: sleep 0.3\nresources: {accelerators: H100:1}\n",
        ],
    )
    .await;
    let jobs = rows["jobs"].as_array().unwrap();
    // The committed pool's zone is out of capacity: both ran on demand.
    assert!(jobs.iter().all(|j| j["pool"] == "od"), "{rows}");
    let by_pool = call(&app, "GET", "/ui/jobs?pool=commit", &[admin], "").await;
    assert_eq!(by_pool.body["jobs"], json!([]));
    let by_name = call(&app, "GET", "/ui/jobs?q=SHORT-B", &[admin], "").await;
    assert_eq!(by_name.body["jobs"][0]["name"], "short-b");
    let bad = call(&app, "GET", "/ui/jobs?state=waiting", &[admin], "").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown state 'waiting'")
    );

    let usage = call(&app, "GET", "/v1/usage", &[admin], "").await.body;
    let history = call(&app, "GET", "/ui/history", &[admin], "").await.body;
    let usage_total: f64 = usage["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["usd"].as_f64().unwrap())
        .sum();
    let history_total: f64 = history["spend"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["usd"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
        })
        .sum();
    assert!(usage_total > 0.0);
    assert!(
        (usage_total - history_total).abs() < 1e-9,
        "usage {usage_total} vs history {history_total}"
    );
    // The refused launches on the committed pool are the failover memory's blocks.
    let blocks = history["blocks"].as_array().unwrap();
    assert!(!blocks.is_empty(), "{history}");
    assert_eq!(blocks[0]["pool"], "commit");
    assert!(
        blocks[0]["message"]
            .as_str()
            .unwrap()
            .contains("blocked for every job until"),
        "{history}"
    );
    // A tenant's history holds only its own spend.
    let tenant = call(
        &app,
        "GET",
        "/ui/history",
        &[("authorization", "Bearer vision-token-1")],
        "",
    )
    .await
    .body;
    let tenants: Vec<&str> = tenant["spend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["vision"]);
    assert_eq!(tenant["pools"].as_array().unwrap().len(), 2);
}

/// The USD of `series` (each `{pool, usd: [...]}`) on `pool`, over every bucket.
fn usd_on(series: &Value, pool: &str) -> f64 {
    series
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["pool"] == pool)
        .flat_map(|s| s["usd"].as_array().unwrap().iter())
        .map(|v| v.as_f64().unwrap())
        .sum()
}

/// On a pool rented by VMs of 8 (`block = 8`), two tenants' jobs share one VM: the history
/// bills the VM's rented time as `/v1/usage` does. Each tenant's spend is its accelerator
/// time, as in the usage report; the rest of the VM's cost, accelerators no job held, is the
/// pool's idle series; together they are the usage report's rented bill.
#[tokio::test]
async fn history_bills_a_shared_rented_vm_as_usage_does() {
    let (svc, _dir) = service(
        "admin_tokens = [\"admin-token-1\"]\n\
         [[pool]]\nname = \"vm\"\naccelerator = \"H100\"\ncount = 8\nblock = 8\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.0 }\n\
         [[tenant]]\nname = \"research\"\ntokens = [\"research-token-1\"]\n\
         [[tenant]]\nname = \"vision\"\ntokens = [\"vision-token-1\"]\n",
    )
    .await;
    let app = spillway_server::api::router(svc);
    let admin = ("authorization", "Bearer admin-token-1");
    run_to_success(
        &app,
        &[
            "tenant: research\nrun: sleep 0.2\nresources: {accelerators: H100:2}\n",
            "tenant: vision\nrun: sleep 0.4\nresources: {accelerators: H100:1}\n",
        ],
    )
    .await;

    let usage = call(&app, "GET", "/v1/usage", &[admin], "").await.body;
    let history = call(&app, "GET", "/ui/history", &[admin], "").await.body;
    let rented = &usage["rented"][0];
    assert_eq!(rented["pool"], "vm", "{usage}");
    let (rented_usd, idle_usd) = (
        rented["usd"].as_f64().unwrap(),
        rented["idle_usd"].as_f64().unwrap(),
    );
    // Both jobs held accelerators of the one VM, which no job held whole.
    assert!(idle_usd > 0.0 && idle_usd < rented_usd, "{usage}");
    let history_usd = usd_on(&history["spend"], "vm") + usd_on(&history["idle"], "vm");
    assert!(
        (history_usd - rented_usd).abs() < 1e-9,
        "history {history_usd} vs the usage report's rented bill {rented_usd}: {history}"
    );
    assert!(
        (usd_on(&history["idle"], "vm") - idle_usd).abs() < 1e-9,
        "{history}"
    );
    // Each tenant's spend is its usage, the same as on a pool billed by the accelerator.
    for t in usage["tenants"].as_array().unwrap() {
        let spend: f64 = history["spend"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["tenant"] == t["tenant"])
            .flat_map(|s| s["usd"].as_array().unwrap().iter())
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!(
            (spend - t["usd"].as_f64().unwrap()).abs() < 1e-9,
            "{t} vs {history}"
        );
    }
    // A tenant sees its own spend and, as the usage report shows `rented` to every caller,
    // the pool's idle series.
    let vision = call(
        &app,
        "GET",
        "/ui/history",
        &[("authorization", "Bearer vision-token-1")],
        "",
    )
    .await
    .body;
    assert_eq!(vision["spend"].as_array().unwrap().len(), 1, "{vision}");
    assert_eq!(vision["spend"][0]["tenant"], "vision");
    assert!(
        (usd_on(&vision["idle"], "vm") - idle_usd).abs() < 1e-9,
        "{vision}"
    );
}
