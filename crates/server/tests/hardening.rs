//! The service against an attacker and a clumsy operator, in process (issue 18): other
//! tenants' job ids never leak into reasons and events, specs that could never run or would
//! overflow the scheduler are refused at submit, and every edge case answers a JSON error.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use spillway_server::config::Config;
use spillway_server::service::Service;
use std::time::Duration;
use tower::ServiceExt;

/// A service on a fresh data directory; the directory lives as long as the returned guard.
async fn app(config: &str) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::parse(config, "test").unwrap();
    config.data_dir = dir.path().to_path_buf();
    let service = Service::start(config).await.unwrap();
    (spillway_server::api::router(service), dir)
}

const POOL: &str = "[[pool]]\nname = \"gpu\"\naccelerator = \"H100\"\ncount = 8\n";

/// Two tenants and an admin on [`POOL`].
fn tenants() -> String {
    format!(
        "admin_tokens = [\"admin-000\"]\n{POOL}[[tenant]]\nname = \"a\"\ntokens = [\"token-a-1\"]\n[[tenant]]\nname = \"b\"\ntokens = [\"token-b-1\"]\n"
    )
}

const ADMIN: Option<&str> = Some("admin-000");
const A: Option<&str> = Some("token-a-1");
const B: Option<&str> = Some("token-b-1");

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

async fn submit(app: &Router, token: Option<&str>, yaml: &str) -> (StatusCode, Value) {
    let body = json!({ "yaml": yaml }).to_string();
    call(app, "POST", "/v1/jobs", token, body).await
}

async fn submit_ok(app: &Router, token: Option<&str>, yaml: &str) -> i64 {
    let (status, v) = submit(app, token, yaml).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

/// Polls `uri` until `pred` holds on its answer (bounded: 30 s).
async fn poll(
    app: &Router,
    token: Option<&str>,
    uri: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..600 {
        let (_, v) = call(app, "GET", uri, token, "").await;
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{uri} never answered as expected");
}

fn messages(v: &Value) -> String {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Item 3: a reservation and a preemption by another tenant's job are named as "a job of
/// another tenant" for a tenant's token; admins see the ids.
#[tokio::test]
async fn another_tenants_job_ids_do_not_leak_into_reasons_or_events() {
    let (app, _dir) = app(&tenants()).await;
    // b runs H100:5 (1 h) and queues H100:8, which reserves the pool; a's H100:2 (2 h) waits behind it.
    let running = submit_ok(
        &app,
        B,
        "priority: 100\nwork: 1h\nrun: sleep 60\nresources: {accelerators: H100:5}\n",
    )
    .await;
    poll(&app, B, &format!("/v1/jobs/{running}"), |v| {
        v["job"]["state"] == "running"
    })
    .await;
    let reserved = submit_ok(
        &app,
        B,
        "priority: 100\nrun: sleep 60\nresources: {accelerators: H100:8}\n",
    )
    .await;
    let waiting = submit_ok(
        &app,
        A,
        "priority: 100\nwork: 2h\nrun: 'true'\nresources: {accelerators: H100:2}\n",
    )
    .await;
    let explain = format!("/v1/jobs/{waiting}/explain");
    let seen_by_a = poll(&app, A, &explain, |v| {
        v["reason"].as_str().is_some_and(|r| r.contains("behind"))
    })
    .await;
    assert_eq!(
        seen_by_a["reason"],
        "queued: waiting for H100:2 on pool gpu (3 free now), behind a job of another tenant which holds the reservation there",
        "{seen_by_a}"
    );
    let (_, seen_by_admin) = call(&app, "GET", &explain, ADMIN, "").await;
    assert!(
        seen_by_admin["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("behind job {reserved} which")),
        "{seen_by_admin}"
    );

    // Item 2: the longest estimate a spec may give (10 years) waits behind the reservation
    // like a 2 h one; beyond it the spec is refused (see the next test), so no estimate
    // overflows into "ends before the reserved job starts".
    let longest = submit_ok(
        &app,
        A,
        "priority: 100\nwork: 3650d\nrun: 'true'\nresources: {accelerators: H100:2}\n",
    )
    .await;
    let seen = poll(&app, A, &format!("/v1/jobs/{longest}/explain"), |v| {
        v["reason"].as_str().is_some_and(|r| r.contains("behind"))
    })
    .await;
    assert_eq!(seen["state"], "queued", "{seen}");

    // a's urgent job preempts b's running one: b reads who preempted it without the id.
    let urgent = submit_ok(
        &app,
        A,
        "priority: 900\nrun: sleep 60\nresources: {accelerators: H100:8}\n",
    )
    .await;
    let uri = format!("/v1/jobs/{running}");
    let seen_by_b = poll(&app, B, &uri, |v| messages(v).contains("preempted")).await;
    let text = messages(&seen_by_b);
    assert!(
        text.contains("preempted to make room for a job of another tenant"),
        "{text}"
    );
    assert!(!text.contains(&format!("job {urgent}")), "{text}");
    let (_, seen_by_admin) = call(&app, "GET", &uri, ADMIN, "").await;
    assert!(
        messages(&seen_by_admin).contains(&format!("preempted to make room for job {urgent}")),
        "{seen_by_admin}"
    );
    // b's own ids stay: its listing names its own jobs as they are.
    let (_, list) = call(&app, "GET", "/v1/jobs", B, "").await;
    assert!(
        !list.to_string().contains(&format!("job {urgent}")),
        "{list}"
    );

    for id in [running, reserved, waiting, longest, urgent] {
        call(&app, "POST", &format!("/v1/jobs/{id}/cancel"), ADMIN, "").await;
    }
}

/// Items 2, 4 and 5 at the API: what the spec parser refuses arrives as a 422 naming the
/// field and the limit.
#[tokio::test]
async fn specs_that_overflow_or_could_never_run_are_refused_at_submit() {
    let (app, _dir) = app(POOL).await;
    let big_run = format!("run: {}\n", "x".repeat(140_000));
    let cases: &[(&str, &str)] = &[
        (
            "run: x\nwork: 9223372036854775807s\nresources: {accelerators: H100:2}\n",
            "work: 9223372036854775807 s is over the limit of 315360000 s (10 years)",
        ),
        (
            "run: x\ntenant: \"ops\\e[2J\"\n",
            "tenant: contains the control character \\u{1b}",
        ),
        (
            "run: x\nworkdir: \"/tmp\\n/forged line\"\n",
            "workdir: contains the control character \\n",
        ),
        (
            &big_run,
            "run: 140000 bytes is over the limit of 128000 bytes",
        ),
        ("run: \"echo \\0\"\n", "run: contains a NUL byte"),
        ("run: x\nenvs: {PATH: ''}\n", "envs.PATH: empty"),
    ];
    for (yaml, start) in cases {
        let (status, v) = submit(&app, None, yaml).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(start), "{message}");
    }
}

/// Item 6: the edges answer JSON errors, not plain text or a 500.
#[tokio::test]
async fn edges_answer_json_errors() {
    let (app, _dir) = app(POOL).await;
    let (status, v) = call(&app, "DELETE", "/v1/jobs", None, "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");

    let huge = json!({ "yaml": format!("run: {}\n", "x".repeat(3 << 20)) }).to_string();
    let (status, v) = call(&app, "POST", "/v1/jobs", None, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"]["code"], "too_large", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 2097152 bytes"),
        "{v}"
    );

    let id = submit_ok(&app, None, "run: echo hi\n").await;
    poll(&app, None, &format!("/v1/jobs/{id}"), |v| {
        v["job"]["state"] == "succeeded"
    })
    .await;
    let uri = format!("/v1/jobs/{id}/logs?offset={}", 16u64 << 40);
    let (status, v) = call(&app, "GET", &uri, None, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("offset: 17592186044416 is past the end of the stdout.log"),
        "{v}"
    );
    let (status, v) = call(
        &app,
        "GET",
        &format!("/v1/jobs/{id}/logs?offset=3"),
        None,
        "",
    )
    .await;
    assert_eq!((status, v["data"].as_str()), (StatusCode::OK, Some("")));
}

/// Item 6: `GET /v1/jobs` pages with a cursor, at most 1000 jobs a page.
#[tokio::test]
async fn job_lists_page_with_a_cursor() {
    let (app, _dir) = app(POOL).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        // Never placeable right now (more than the pool has free after the first): they queue.
        ids.push(
            submit_ok(
                &app,
                None,
                "run: sleep 60\nresources: {accelerators: H100:8}\n",
            )
            .await,
        );
    }
    let mut seen = Vec::new();
    let mut uri = "/v1/jobs?limit=2".to_string();
    for _ in 0..5 {
        let (status, page) = call(&app, "GET", &uri, None, "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for j in page["jobs"].as_array().unwrap() {
            seen.push(j["id"].as_i64().unwrap());
        }
        match page["next_before"].as_i64() {
            Some(b) => uri = format!("/v1/jobs?limit=2&before={b}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let (status, v) = call(&app, "GET", "/v1/jobs?limit=10000", None, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("limit: 10000 is out of range: ask for 1 to 1000 jobs per page"),
        "{v}"
    );
    for id in ids {
        call(&app, "POST", &format!("/v1/jobs/{id}/cancel"), None, "").await;
    }
}

/// Item 6: with tokens configured, `/metrics` needs one unless the config opens it.
#[tokio::test]
async fn metrics_need_a_token_when_tokens_exist_unless_public() {
    let (closed, _dir) = app(&tenants()).await;
    let (status, v) = call(&closed, "GET", "/metrics", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let (status, _) = call(&closed, "GET", "/metrics", A, "").await;
    assert_eq!(status, StatusCode::OK);
    let (open, _dir2) = app(&format!("public_metrics = true\n{}", tenants())).await;
    let (status, v) = call(&open, "GET", "/metrics", None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("spillway_queue_length"));
}
