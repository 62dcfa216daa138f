//! The HTTP API in process (no sockets): error bodies for malformed specs and requests,
//! idempotency, tenancy, preemption with resume, quotas, usage, failover with contracts and the
//! OpenAPI document.

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

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

async fn submit_yaml(app: &Router, token: Option<&str>, yaml: &str) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/v1/jobs",
        token,
        &[("content-type", "application/json")],
        &json!({ "yaml": yaml }).to_string(),
    )
    .await
}

/// Polls a job until `pred` holds on it (bounded).
async fn wait_for(
    app: &Router,
    token: Option<&str>,
    id: i64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..600 {
        let (_, v) = call(app, "GET", &format!("/v1/jobs/{id}"), token, &[], "").await;
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never reached the expected state");
}

fn state_is(s: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["job"]["state"] == s
}

/// A job's attempts as (pool, outcome), first first.
fn attempts_of(job: &Value) -> Vec<(String, String)> {
    job["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["pool"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Cancels job `id` (the answer is not checked).
async fn cancel(app: &Router, id: i64) {
    call(app, "POST", &format!("/v1/jobs/{id}/cancel"), None, &[], "").await;
}

/// (what is sent, expected status, expected code, expected message or its start).
type Case = (&'static str, StatusCode, &'static str, &'static str);

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// Malformed specs, sent as YAML in a JSON body: each with its exact error text.
const SPEC_CASES: &[Case] = &[
    ("run: [unclosed", INVALID, "invalid_spec", "invalid YAML: "),
    (
        "- a\n- list\n",
        INVALID,
        "invalid_spec",
        "a job spec must be a mapping with at least `run:`, found a list",
    ),
    (
        "name: x\n",
        INVALID,
        "invalid_spec",
        "run: missing: a job needs the commands to run, e.g. `run: python train.py`",
    ),
    (
        "run: ''\n",
        INVALID,
        "invalid_spec",
        "run: empty: give the commands to run",
    ),
    (
        "runn: x\nrun: y\n",
        INVALID,
        "invalid_spec",
        "runn: unknown field 'runn': did you mean 'run'?",
    ),
    (
        "run: x\nresources:\n  accelerators: [H100:8, h100mega:8]\n",
        INVALID,
        "invalid_spec",
        "resources.accelerators[1]: unknown accelerator 'h100mega': did you mean H100-MEGA?",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:0\n",
        INVALID,
        "invalid_spec",
        "resources.accelerators: count of H100 must be at least 1",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:0.5\n",
        INVALID,
        "invalid_spec",
        "resources.accelerators: fractional count '0.5' of H100: Spillway hands out whole accelerators and never shares one between jobs: ask for H100:1",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:x\n",
        INVALID,
        "invalid_spec",
        "resources.accelerators: count 'x' of H100 is not a whole number",
    ),
    (
        "run: x\nresources:\n  accelerators: [H100:1, h100:1]\n",
        INVALID,
        "invalid_spec",
        "resources.accelerators: H100:1 is listed twice: keep one",
    ),
    (
        "run: x\nresources:\n  any_of:\n    - accelerators: A100\n  ordered:\n    - accelerators: A100\n",
        INVALID,
        "invalid_spec",
        "resources: set only one of any_of, ordered: they are alternative ways to list accelerators",
    ),
    (
        "run: x\nresources:\n  any_of:\n    - use_spot: true\n",
        INVALID,
        "invalid_spec",
        "resources.any_of[0]: missing accelerators: give them here or in resources.accelerators",
    ),
    (
        "run: x\nresources:\n  use_spot: yes please\n",
        INVALID,
        "invalid_spec",
        "resources.use_spot: expected true or false, found 'yes please'",
    ),
    (
        "run: x\nresources:\n  cpus: lots\n",
        INVALID,
        "invalid_spec",
        "resources.cpus: invalid amount 'lots': write a number such as 8 or 8+ (at least 8)",
    ),
    (
        "run: x\nnum_nodes: 0\n",
        INVALID,
        "invalid_spec",
        "num_nodes: expected a whole number from 1 to 4096, found 0",
    ),
    (
        "run: x\npriority: 2000\n",
        INVALID,
        "invalid_spec",
        "priority: expected a whole number from 0 to 1000, found 2000",
    ),
    (
        "run: x\nenvs:\n  CUDA_VISIBLE_DEVICES: '0'\n",
        INVALID,
        "invalid_spec",
        "envs.CUDA_VISIBLE_DEVICES: CUDA_VISIBLE_DEVICES is set by Spillway for each job and cannot be overridden",
    ),
    (
        "run: x\nenvs:\n  1X: a\n",
        INVALID,
        "invalid_spec",
        "envs.1X: invalid variable name '1X': use letters, digits and '_', not starting with a digit",
    ),
    (
        "run: x\nenvs:\n  TOKEN:\n",
        INVALID,
        "invalid_spec",
        "envs.TOKEN: no value: give it at submit with --env TOKEN=VALUE",
    ),
    (
        "run: x\nwork: 5x\n",
        INVALID,
        "invalid_spec",
        "work: invalid duration '5x': unknown unit 'x' (use s, m, h, d or w, e.g. 6h)",
    ),
    (
        "run: x\ndeadline: tomorrow\n",
        INVALID,
        "invalid_spec",
        "deadline: invalid deadline 'tomorrow': give a time such as 2026-12-01T00:00:00Z or a duration after submission such as 24h",
    ),
    (
        "run: x\nbudget: -5\n",
        INVALID,
        "invalid_spec",
        "budget: expected a positive amount of US dollars such as 250 or \"$250\", found -5",
    ),
    (
        "run: x\ncheckpoint: {intervl: 30m}\n",
        INVALID,
        "invalid_spec",
        "checkpoint.intervl: unknown field 'intervl': did you mean 'interval'?",
    ),
    (
        "run: x\nmax_restarts: -1\n",
        INVALID,
        "invalid_spec",
        "max_restarts: expected a whole number from 0 to 100, found -1",
    ),
    (
        "run: x\nname: 'bad name!'\n",
        INVALID,
        "invalid_spec",
        "name: invalid name 'bad name!': use 1 to 63 letters, digits, '.', '_' or '-'",
    ),
    (
        "run: x\npriority: 1\nresources: {priority: 2}\n",
        INVALID,
        "invalid_spec",
        "priority: given twice (here and in resources.priority): keep one",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:16\n",
        INVALID,
        "unplaceable",
        "resources: no pool can run it: no declared pool has H100:16",
    ),
    (
        "run: x\nnum_nodes: 2\nresources:\n  accelerators: H100:8\n",
        INVALID,
        "unplaceable",
        "resources: no pool can run it: it needs 2 nodes with H100:8 on each (a gang: all at once), and no declared pool has that many nodes",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:1\n  infra: slurm\n",
        INVALID,
        "unplaceable",
        "resources.infra: 'slurm' matches no declared pool: infra names a pool, an executor kind (local, slurm, ray) or a cloud[/region[/zone]]",
    ),
    (
        "run: x\nresources:\n  accelerators: H100:1\n  infra: aws/us-east-1\n",
        INVALID,
        "unplaceable",
        "resources.infra: 'aws/us-east-1' matches no declared pool",
    ),
    (
        "run: x\nworkdir: /nonexistent/spillway-workdir\n",
        INVALID,
        "invalid_spec",
        "workdir: /nonexistent/spillway-workdir is not a directory on the machine that runs the job",
    ),
    (
        "run: x\ntenant: nobody\n",
        INVALID,
        "invalid_spec",
        "tenant: unknown tenant 'nobody': it is not in the config",
    ),
];

/// Malformed API requests: (method and path, body, expected status, code, message start).
const REQUEST_CASES: &[(&str, &str, StatusCode, &str, &str)] = &[
    (
        "POST /v1/jobs",
        "{",
        BAD,
        "bad_request",
        "invalid JSON body: EOF while parsing an object at line 1 column 1",
    ),
    (
        "POST /v1/jobs",
        "{\"yml\": \"run: x\"}",
        BAD,
        "bad_request",
        "invalid JSON body: unknown field `yml`, expected one of `yaml`, `spec`, `envs`, `secrets`, `after`",
    ),
    (
        "POST /v1/jobs",
        "{}",
        BAD,
        "bad_request",
        "missing spec: send {\"yaml\": \"...\"} or {\"spec\": {...}}",
    ),
    (
        "POST /v1/jobs",
        "{\"yaml\": \"run: x\", \"spec\": {\"run\": \"x\"}}",
        BAD,
        "bad_request",
        "give either yaml or spec, not both",
    ),
    (
        "POST /v1/jobs",
        "{\"spec\": {\"run\": [\"a\"]}}",
        INVALID,
        "invalid_spec",
        "run: expected a string, found a list",
    ),
    (
        "POST /v1/jobs",
        "{\"spec\": \"run: x\"}",
        INVALID,
        "invalid_spec",
        "a job spec must be a mapping with at least `run:`, found a string",
    ),
    (
        "GET /v1/jobs/abc",
        "",
        BAD,
        "bad_request",
        "invalid job id 'abc': job ids are positive whole numbers",
    ),
    (
        "GET /v1/jobs/0",
        "",
        BAD,
        "bad_request",
        "invalid job id '0': job ids are positive whole numbers",
    ),
    (
        "GET /v1/jobs/999",
        "",
        StatusCode::NOT_FOUND,
        "not_found",
        "job 999 not found",
    ),
    (
        "POST /v1/jobs/999/cancel",
        "",
        StatusCode::NOT_FOUND,
        "not_found",
        "job 999 not found",
    ),
    (
        "GET /v1/jobs?state=bogus",
        "",
        BAD,
        "bad_request",
        "unknown state 'bogus': expected one of queued, running, succeeded, failed, cancelled",
    ),
    (
        "GET /v1/jobs?colour=red",
        "",
        BAD,
        "bad_request",
        "invalid query string: colour: unknown field `colour`, expected one of `state`, `tenant`, `limit`",
    ),
    (
        "GET /v1/jobs?limit=-1",
        "",
        BAD,
        "bad_request",
        "invalid query string: limit: invalid digit",
    ),
    (
        "GET /v1/jobs/1/logs?stream=both",
        "",
        BAD,
        "bad_request",
        "unknown stream 'both': use stdout or stderr",
    ),
    (
        "POST /v1/nothing",
        "",
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint: see /openapi.json",
    ),
];

#[tokio::test]
async fn malformed_specs_and_requests_get_their_error_text() {
    let (app, _dir) = app(&format!("{POOL}[[tenant]]\nname = \"someone\"\n")).await;
    let mut failures = Vec::new();
    for (yaml, status, code, message) in SPEC_CASES {
        let (got, body) = submit_yaml(&app, None, yaml).await;
        let m = body["error"]["message"].as_str().unwrap_or_default();
        if got != *status || body["error"]["code"] != *code || !m.starts_with(message) {
            failures.push(format!("spec {yaml:?}: got {got} {body}"));
        }
    }
    for (req, body, status, code, message) in REQUEST_CASES {
        let (method, path) = req.split_once(' ').unwrap();
        let (got, resp) = call(
            &app,
            method,
            path,
            None,
            &[("content-type", "application/json")],
            body,
        )
        .await;
        let m = resp["error"]["message"].as_str().unwrap_or_default();
        if got != *status || resp["error"]["code"] != *code || !m.starts_with(message) {
            failures.push(format!("{req} {body:?}: got {got} {resp}"));
        }
    }
    assert!(SPEC_CASES.len() + REQUEST_CASES.len() >= 20);
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn idempotency_key_returns_the_same_job() {
    let (app, _dir) = app(POOL).await;
    let body = json!({ "yaml": "run: echo once\n" }).to_string();
    let h = [
        ("content-type", "application/json"),
        ("idempotency-key", "abc-1"),
    ];
    let (s1, a) = call(&app, "POST", "/v1/jobs", None, &h, &body).await;
    let (s2, b) = call(&app, "POST", "/v1/jobs", None, &h, &body).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["created"], false);
    let other = json!({ "yaml": "run: echo different\n" }).to_string();
    let (s3, c) = call(&app, "POST", "/v1/jobs", None, &h, &other).await;
    assert_eq!(s3, StatusCode::CONFLICT);
    assert!(
        c["error"]["message"]
            .as_str()
            .unwrap()
            .contains("idempotency key 'abc-1' was already used")
    );
    let (_, list) = call(&app, "GET", "/v1/jobs", None, &[], "").await;
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1);
}

async fn submit_json(app: &Router, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/v1/jobs",
        None,
        &[("content-type", "application/json")],
        &body.to_string(),
    )
    .await
}

#[tokio::test]
async fn envs_and_secrets_given_at_submit_reach_the_process_and_secrets_no_view() {
    let (app, dir) = app(POOL).await;
    // The run compares without spelling the value, so that the spec holds no copy of it.
    let yaml = "run: test \"$TOKEN\" = \"s3$(echo cr3t)-value\" && echo \"ok $MODEL\"\nenvs:\n  MODEL: null\nsecrets:\n  TOKEN: null\n";
    let (s, r) = submit_yaml(&app, None, yaml).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(
        r["error"]["message"],
        "envs.MODEL: no value: give it at submit with --env MODEL=VALUE\n\
         secrets.TOKEN: no value: give it at submit with --secret TOKEN=VALUE, or --secret TOKEN to take it from your environment"
    );
    let (s, r) = submit_json(
        &app,
        json!({ "yaml": yaml, "envs": {"MODEL": "llama"}, "secrets": {"TOKEN": "s3cr3t-value"} }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_i64().unwrap();
    let shown = wait_for(&app, None, id, state_is("succeeded")).await;
    let (_, logs) = call(&app, "GET", &format!("/v1/jobs/{id}/logs"), None, &[], "").await;
    assert_eq!(logs["data"], "ok llama\n");
    assert_eq!(shown["job"]["spec"]["secrets"], json!(["TOKEN"]));
    let (_, list) = call(&app, "GET", "/v1/jobs", None, &[], "").await;
    for view in [shown.to_string(), list.to_string(), r.to_string()] {
        assert!(!view.contains("s3cr3t"), "{view}");
    }
    // Nor is it in the store, next to the spec.
    let db = std::fs::read(dir.path().join("spillway.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains("s3cr3t"));
}

#[tokio::test]
async fn a_job_after_another_waits_for_its_success_and_follows_its_failure() {
    let (app, _dir) = app(POOL).await;
    let (s, r) = submit_json(&app, json!({ "yaml": "run: x\n", "after": 999 })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("after: job 999 not found")
    );
    let (_, first) = submit_yaml(&app, None, "run: sleep 0.5\n").await;
    let first = first["id"].as_i64().unwrap();
    let (_, second) = submit_json(&app, json!({ "yaml": "run: exit 3\n", "after": first })).await;
    let second = second["id"].as_i64().unwrap();
    let (_, third) = submit_json(
        &app,
        json!({ "yaml": "run: echo never\n", "after": second }),
    )
    .await;
    let third = third["id"].as_i64().unwrap();
    let held = wait_for(&app, None, second, |v| {
        v["job"]["message"] == format!("waits for job {first} to succeed")
    })
    .await;
    assert_eq!(held["job"]["state"], "queued");
    assert_eq!(held["job"]["spec"]["after"], first);
    let (_, e) = call(
        &app,
        "GET",
        &format!("/v1/jobs/{third}/explain"),
        None,
        &[],
        "",
    )
    .await;
    assert_eq!(
        e["reason"],
        format!("queued: waits for job {second} to succeed (it runs after it)")
    );
    wait_for(&app, None, first, state_is("succeeded")).await;
    wait_for(&app, None, second, state_is("failed")).await;
    let v = wait_for(&app, None, third, state_is("cancelled")).await;
    assert_eq!(
        v["job"]["message"],
        format!("cancelled: job {second}, which it runs after, failed")
    );
    assert_eq!(v["job"]["attempts"], 0);
}

#[tokio::test]
async fn a_deadline_already_past_is_refused() {
    let (app, _dir) = app(POOL).await;
    let (s, r) = submit_yaml(&app, None, "run: x\ndeadline: 2020-01-01T00:00:00Z\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(
        r["error"]["message"],
        "deadline: 2020-01-01T00:00:00Z is already past: give a later time, or a duration after submission such as 24h"
    );
}

#[tokio::test]
async fn raw_yaml_bodies_and_skypilot_warnings() {
    let (app, _dir) = app(POOL).await;
    let (s, r) = call(
        &app,
        "POST",
        "/v1/jobs",
        None,
        &[("content-type", "application/yaml")],
        "run: echo hi\nresources:\n  accelerators: {H100:1}\n  cloud: aws\n",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["dialect"], "skypilot");
    assert_eq!(
        r["warnings"],
        json!(["resources.cloud: ignored: SkyPilot resource field that Spillway does not use"])
    );
}

#[tokio::test]
async fn tokens_are_required_and_tenants_isolated() {
    let config = format!(
        "admin_tokens = [\"admin-000\"]\n{POOL}[[tenant]]\nname = \"a\"\ntokens = [\"token-a-1\"]\n[[tenant]]\nname = \"b\"\ntokens = [\"token-b-1\"]\n"
    );
    let (app, _dir) = app(&config).await;
    let (s, e) = call(&app, "GET", "/v1/jobs", None, &[], "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(e["error"]["code"], "unauthorized");
    let (s, _) = call(
        &app,
        "GET",
        "/v1/jobs",
        None,
        &[("authorization", "Basic eDp5")],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, r) = submit_yaml(&app, Some("token-a-1"), "run: echo a\n").await;
    assert_eq!(s, StatusCode::CREATED);
    let id = r["id"].as_i64().unwrap();
    let (s, _) = call(
        &app,
        "GET",
        &format!("/v1/jobs/{id}"),
        Some("token-b-1"),
        &[],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "b must not see a's job");
    let (s, _) = call(
        &app,
        "GET",
        &format!("/v1/jobs/{id}/explain"),
        Some("token-b-1"),
        &[],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        "POST",
        &format!("/v1/jobs/{id}/cancel"),
        Some("token-b-1"),
        &[],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = submit_yaml(&app, Some("token-b-1"), "tenant: a\nrun: echo x\n").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["error"]["code"], "forbidden");
    let (_, mine) = call(&app, "GET", "/v1/jobs", Some("token-b-1"), &[], "").await;
    assert!(mine["jobs"].as_array().unwrap().is_empty());
    let (s, _) = call(
        &app,
        "GET",
        &format!("/v1/jobs/{id}"),
        Some("admin-000"),
        &[],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "admin sees every job");
    wait_for(&app, Some("token-a-1"), id, state_is("succeeded")).await;
    let (_, usage) = call(&app, "GET", "/v1/usage", Some("token-b-1"), &[], "").await;
    assert_eq!(usage["tenants"], json!([]), "b sees no usage of a");
    let (_, usage) = call(&app, "GET", "/v1/usage", Some("token-a-1"), &[], "").await;
    assert_eq!(usage["tenants"][0]["tenant"], "a");
    assert_eq!(usage["tenants"][0]["pools"][0]["attempts"], 1);
}

#[tokio::test]
async fn higher_priority_preempts_and_the_victim_resumes_from_its_checkpoint() {
    let (app, _dir) = app("[[pool]]\nname = \"gpu\"\naccelerator = \"H100\"\ncount = 2\n").await;
    let (_, low) = submit_yaml(
        &app,
        None,
        "name: low\npriority: 100\nrun: sleep 60\ncheckpoint: {interval: 10m, resume: echo resumed}\nresources: {accelerators: H100:2}\n",
    )
    .await;
    let low = low["id"].as_i64().unwrap();
    wait_for(&app, None, low, state_is("running")).await;
    let (_, high) = submit_yaml(
        &app,
        None,
        "name: high\npriority: 900\nrun: echo high\nresources: {accelerators: H100:2}\n",
    )
    .await;
    let high = high["id"].as_i64().unwrap();
    wait_for(&app, None, high, state_is("succeeded")).await;
    let done = wait_for(&app, None, low, state_is("succeeded")).await;
    let outcomes: Vec<&str> = done["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["preempted", "succeeded"]);
    assert_eq!(done["attempts"][1]["resumed"], true);
    let (_, log) = call(&app, "GET", &format!("/v1/jobs/{low}/logs"), None, &[], "").await;
    assert_eq!(log["data"], "resumed\n");
    assert_eq!(log["eof"], true);
}

#[tokio::test]
async fn a_refused_launch_fails_over_and_committed_use_is_charged_to_its_contract() {
    // The cheaper committed pool's zone is out of capacity for the first hour: the job goes
    // on to the on-demand pool, and a job pinned to the committed pool waits for the block.
    let (app, _dir) = app(
        "[scheduler]\nfailover_half_life_s = 600\n\
         [[contract]]\nname = \"c\"\nprovider = \"gcp\"\ntotal_usd = 100\nstart = 2026-01-01\nterm_months = 1\ndiscount_percent = 0\n\
         [[pool]]\nname = \"commit\"\naccelerator = \"H100\"\ncount = 1\nprovider = \"gcp\"\nprice = { plan = \"committed\", usd_per_chip_hour = 1.0 }\n\
         [pool.faults]\nstockouts = [{ start_s = 0, end_s = 3600 }]\n\
         [[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 1\nprice = { plan = \"on_demand\", usd_per_chip_hour = 2.0 }\n",
    )
    .await;
    let (_, job) = submit_yaml(
        &app,
        None,
        "run: echo ok\nresources: {accelerators: H100:1}\n",
    )
    .await;
    let id = job["id"].as_i64().unwrap();
    let done = wait_for(&app, None, id, state_is("succeeded")).await;
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        attempts_of(&done),
        [pair("commit", "nocapacity"), pair("od", "succeeded")]
    );
    assert_eq!(done["job"]["restarts"], 0);
    let (_, pinned) = submit_yaml(
        &app,
        None,
        "run: echo ok\nresources: {accelerators: H100:1, infra: commit}\n",
    )
    .await;
    let pinned = pinned["id"].as_i64().unwrap();
    let mut reason = String::new();
    for _ in 0..100 {
        let (_, e) = call(
            &app,
            "GET",
            &format!("/v1/jobs/{pinned}/explain"),
            None,
            &[],
            "",
        )
        .await;
        reason = e["reason"].as_str().unwrap().to_string();
        if reason.contains("blocked") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reason.starts_with("queued: every pool that could run it is blocked after launches failed there for lack of capacity: pool commit (zone commit of gcp blocked for "),
        "{reason}"
    );
    // Nothing ran on the committed pool: nothing is charged, and the contract says so.
    let (status, c) = call(&app, "GET", "/v1/contracts", None, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    let standing = &c["contracts"][0];
    assert_eq!(standing["report"]["contract"], "c");
    assert_eq!(standing["report"]["spent"], 0.0);
    assert_eq!(standing["report"]["share_of_work"], 0.0);
    assert_eq!(standing["pools"], json!(["commit"]));
    assert_eq!(standing["report"]["projection"]["status"], "shortfall");
}

#[tokio::test]
async fn quota_holds_a_job_back_and_explain_says_why() {
    let config = format!("{POOL}[[tenant]]\nname = \"q\"\nmax_accelerators = {{ H100 = 2 }}\n");
    let (app, _dir) = app(&config).await;
    let spec = "tenant: q\nrun: sleep 30\nresources: {accelerators: H100:2}\n";
    let (_, a) = submit_yaml(&app, None, spec).await;
    let (_, b) = submit_yaml(&app, None, spec).await;
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    wait_for(&app, None, a, state_is("running")).await;
    let mut reason = String::new();
    for _ in 0..600 {
        let (_, e) = call(&app, "GET", &format!("/v1/jobs/{b}/explain"), None, &[], "").await;
        reason = e["reason"].as_str().unwrap().to_string();
        if reason.contains("quota") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        reason,
        "queued: tenant q holds 2 of its quota of 2 H100; it waits until some of its jobs finish"
    );
    let (_, pools) = call(&app, "GET", "/v1/pools", None, &[], "").await;
    assert_eq!(pools["pools"][0]["free"], 6);
    for id in [a, b] {
        cancel(&app, id).await;
    }
    wait_for(&app, None, a, state_is("cancelled")).await;
    let (s, e) = call(&app, "POST", &format!("/v1/jobs/{a}/cancel"), None, &[], "").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        e["error"]["message"],
        format!("job {a} already cancelled: nothing to cancel")
    );
}

#[tokio::test]
async fn metrics_and_health() {
    let (app, _dir) = app(POOL).await;
    submit_yaml(&app, None, "run: echo m\n").await;
    let (s, h) = call(&app, "GET", "/healthz", None, &[], "").await;
    assert_eq!((s, h), (StatusCode::OK, Value::String("ok\n".into())));
    let (_, m) = call(&app, "GET", "/metrics", None, &[], "").await;
    let m = m.as_str().unwrap();
    for needle in [
        "spillway_queue_length{pool=\"gpu\"}",
        "spillway_running_jobs{pool=\"gpu\"}",
        "spillway_submit_latency_seconds_count 1",
        "spillway_scheduling_round_seconds_count",
    ] {
        assert!(m.contains(needle), "missing {needle} in:\n{m}");
    }
}

/// The checked-in OpenAPI document matches the code. Regenerate with
/// `UPDATE_OPENAPI=1 cargo test -p spillway-server --test api openapi`.
#[test]
fn openapi_document_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = spillway_server::api::openapi_json() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "crates/server/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p spillway-server --test api openapi"
    );
}

/// On an on-demand pool rented by VMs of 8 (`block = 8`), jobs fill the VM already rented
/// before a new one opens and never straddle two; `/v1/usage` bills the VMs' rented time, and
/// says how much of it no job held.
#[tokio::test]
async fn jobs_pack_into_rented_vms_and_usage_bills_the_vms() {
    let (app, _dir) = app(
        "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 16\nblock = 8\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.0 }\n",
    )
    .await;
    let mut ids = Vec::new();
    for chips in [6, 4, 2] {
        let (_, job) = submit_yaml(
            &app,
            None,
            &format!("run: sleep 30\nresources: {{accelerators: H100:{chips}}}\n"),
        )
        .await;
        let id = job["id"].as_i64().unwrap();
        wait_for(&app, None, id, state_is("running")).await;
        ids.push(id);
    }
    let mut held = Vec::new();
    for &id in &ids {
        let (_, v) = call(&app, "GET", &format!("/v1/jobs/{id}"), None, &[], "").await;
        held.push(v["attempts"][0]["accelerators"].clone());
    }
    assert_eq!(
        held,
        [
            json!([0, 1, 2, 3, 4, 5]),
            json!([8, 9, 10, 11]),
            json!([6, 7])
        ],
        "the 4 open a VM of their own rather than straddle two; the 2 fill the first VM"
    );
    for &id in &ids {
        cancel(&app, id).await;
        wait_for(&app, None, id, state_is("cancelled")).await;
    }
    let (_, usage) = call(&app, "GET", "/v1/usage", None, &[], "").await;
    let rented = &usage["rented"][0];
    assert_eq!(
        (&rented["pool"], &rented["block"]),
        (&json!("od"), &json!(8))
    );
    let vm_hours = rented["vm_hours"].as_f64().unwrap();
    let used: f64 = usage["tenants"][0]["chip_hours"].as_f64().unwrap();
    assert!(vm_hours > 0.0, "{usage}");
    assert!(
        (rented["usd"].as_f64().unwrap() - vm_hours * 8.0 * 4.0).abs() < 1e-9,
        "{usage}"
    );
    // Two VMs for as long as the jobs ran: 16 accelerators rented, 12 held.
    let idle = rented["idle_chip_hours"].as_f64().unwrap();
    assert!(
        (vm_hours * 8.0 - used - idle).abs() < 1e-9 && idle > 0.0 && idle < vm_hours * 8.0,
        "{usage}"
    );
}

/// Two jobs placed in one round on a pool out of capacity (both were queued when the service
/// started, so its first round places them together): the first launch is refused, and the
/// machine says not to launch the second there, since its pool refused a start of the same
/// round. Both go on to the next pool; the second's first attempt never started, and the pool
/// saw one refused launch, not two.
#[tokio::test]
async fn a_pool_that_refused_a_launch_is_not_asked_again_in_the_same_round() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store =
            spillway_server::store::SqliteStore::open(&dir.path().join("spillway.sqlite")).unwrap();
        let names = spillway_model::spec::AcceleratorNames::new(["H100"]);
        for _ in 0..2 {
            spillway_server::store::Store::submit(
                &store,
                spillway_server::store::NewJob {
                    tenant: spillway_server::api::DEFAULT_TENANT.into(),
                    spec: spillway_model::spec::parse_spec(
                        "run: echo ok\nresources: {accelerators: H100:1}\n",
                        &names,
                    )
                    .unwrap()
                    .spec,
                    submitted_ms: spillway_server::job::now_ms(),
                    deadline_ms: None,
                    idempotency_key: None,
                },
            )
            .await
            .unwrap();
        }
    }
    let mut config = Config::parse(
        "[scheduler]\nfailover_half_life_s = 600\n\
         [[pool]]\nname = \"a\"\naccelerator = \"H100\"\ncount = 2\nprice = { plan = \"on_demand\", usd_per_chip_hour = 1.0 }\n\
         [pool.faults]\nstockouts = [{ start_s = 0, end_s = 3600 }]\n\
         [[pool]]\nname = \"b\"\naccelerator = \"H100\"\ncount = 2\nprice = { plan = \"on_demand\", usd_per_chip_hour = 2.0 }\n",
        "test",
    )
    .unwrap();
    config.data_dir = dir.path().to_path_buf();
    let app = spillway_server::api::router(Service::start(config).await.unwrap());
    let mut attempts = Vec::new();
    for id in [1, 2] {
        let done = wait_for(&app, None, id, state_is("succeeded")).await;
        attempts.push(attempts_of(&done));
    }
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        attempts,
        [
            vec![pair("a", "nocapacity"), pair("b", "succeeded")],
            vec![pair("a", "notstarted"), pair("b", "succeeded")],
        ]
    );
    let (_, second) = call(&app, "GET", "/v1/jobs/2", None, &[], "").await;
    assert_eq!(second["job"]["restarts"], 0);
    let events: Vec<String> = second["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        events.iter().any(|m| m.contains(
            "not launched: pool a refused another launch of this round for lack of capacity"
        )),
        "{events:?}"
    );
}
