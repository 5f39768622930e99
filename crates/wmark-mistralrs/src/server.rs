//! `wmark serve`: an OpenAI-compatible server on mistral.rs's engine in which every answer
//! carries its account's watermark, and a detection endpoint that names the account.
//!
//! Routes: `POST /v1/chat/completions` (plain or `stream: true`), `GET /v1/models`,
//! `POST /v1/watermark/detect`, `GET /health`, `GET /metrics`. The engine (continuous
//! batching, the chat template, streaming) is mistral.rs's; this module authenticates the
//! caller, checks the request, attaches the account's watermark processor and counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mistralrs_server_core::chat_completion::{create_streamer, parse_request, process_non_streaming_response};
use mistralrs_server_core::handler_core::{create_response_channel, send_request_with_model};
use mistralrs_server_core::openai::ChatCompletionRequest;
use mistralrs_server_core::types::SharedMistralRsState;
use serde::Deserialize;
use serde_json::json;
use wmark_detect::Detector;
use wmark_processor::gumbel::Warp;

use crate::accounts::{Accounts, Role};
use crate::logits::{StepTimes, Watermarker};

/// Request limits and defaults.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest `max_tokens` a request may ask for (400 above it); also the default.
    pub max_tokens: usize,
    /// Temperature of requests that give none (OpenAI's default is 1).
    pub default_temperature: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body_bytes: 1 << 20, max_tokens: 1024, default_temperature: 1.0 }
    }
}

/// Everything the routes share.
pub struct App {
    pub engine: SharedMistralRsState,
    /// The name `/v1/models` lists and requests must use (or `default`).
    pub model_name: String,
    pub accounts: Accounts,
    /// One watermarker per account, in the order of `accounts.names`.
    pub watermarkers: Vec<Watermarker>,
    /// Key ids of the accounts' keys, same order (the detector reports the best key's id).
    pub key_ids: Vec<String>,
    /// A detector over every account's key.
    pub detector: Arc<Detector>,
    pub limits: Limits,
    pub metrics: Metrics,
    /// When the server started, in seconds since the Unix epoch.
    pub created: u64,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Per account: time in the watermark and steps (= generated tokens).
    pub steps: Vec<Arc<StepTimes>>,
    in_flight: AtomicU64,
}

impl Metrics {
    /// Counters for `accounts` accounts.
    pub fn new(accounts: usize) -> Metrics {
        Metrics { steps: (0..accounts).map(|_| Arc::new(StepTimes::default())).collect(), ..Metrics::default() }
    }
}

/// The caller's name, attached to a response for the access log.
#[derive(Clone)]
struct CallerName(String);

/// An OpenAI-style error body with a status.
fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"message": message.into(), "type": kind, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The router of the whole API.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.limits.max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/v1/watermark/detect", post(detect))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(middleware::from_fn_with_state(Arc::clone(&app), access_log))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

/// Counts every response and writes one log line per request: never a token or a key.
async fn access_log(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route: &'static str = match request.uri().path() {
        "/v1/chat/completions" => "/v1/chat/completions",
        "/v1/models" => "/v1/models",
        "/v1/watermark/detect" => "/v1/watermark/detect",
        "/health" => "/health",
        "/metrics" => "/metrics",
        _ => "other",
    };
    app.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    app.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let status = response.status().as_u16();
    *app.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((route, status)).or_default() += 1;
    if route != "/health" && route != "/metrics" {
        let caller = response.extensions().get::<CallerName>().map_or("-", |c| c.0.as_str());
        eprintln!(
            "wmark serve: {method} {route} {status} {:.1} ms caller={caller}",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    response
}

fn with_caller(mut response: Response, name: &str) -> Response {
    response.extensions_mut().insert(CallerName(name.to_string()));
    response
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn models(State(app): State<Arc<App>>) -> Response {
    Json(json!({
        "object": "list",
        "data": [{"id": app.model_name, "object": "model", "created": app.created, "owned_by": "wmark"}],
    }))
    .into_response()
}

/// The body, or the OpenAI-style error for one too large (413) or unreadable.
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Box<Response>> {
    body.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than this server accepts (--max-body-bytes)".to_string()
        } else {
            e.body_text()
        };
        Box::new(error(status, "invalid_request_error", message))
    })
}

async fn chat(State(app): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(caller) = bearer(&headers).and_then(|t| app.accounts.caller(t)).cloned() else {
        return error(StatusCode::UNAUTHORIZED, "invalid_api_key", "missing or unknown bearer token");
    };
    if caller.role != Role::Account {
        return with_caller(
            error(StatusCode::FORBIDDEN, "permission_denied", "this token may call /v1/watermark/detect only"),
            &caller.name,
        );
    }
    let response = match body_or_error(body) {
        Ok(body) => chat_for(&app, caller.index, &body).await,
        Err(response) => *response,
    };
    with_caller(response, &caller.name)
}

/// Checks a request and fills in the server's defaults; the error is the response to send.
fn check_request(app: &App, req: &mut ChatCompletionRequest, gumbel: bool) -> Result<Warp, Box<Response>> {
    let bad = |m: String| Box::new(error(StatusCode::BAD_REQUEST, "invalid_request_error", m));
    if req.model != app.model_name && req.model != "default" {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("the model {:?} does not exist; this server serves {:?}", req.model, app.model_name),
        )));
    }
    req.model = "default".into();
    if req.n_choices != 1 {
        return Err(bad(format!("n = {} is not supported: ask for one choice per request", req.n_choices)));
    }
    let limit = app.limits.max_tokens;
    match req.max_tokens {
        None => req.max_tokens = Some(limit),
        Some(0) => return Err(bad("max_tokens must be at least 1".into())),
        Some(n) if n > limit => return Err(bad(format!("max_tokens = {n} is above this server's limit of {limit}"))),
        Some(_) => {}
    }
    let temperature = req.temperature.unwrap_or(app.limits.default_temperature);
    if !(temperature.is_finite() && (0.0..=100.0).contains(&temperature)) {
        return Err(bad(format!("temperature must be a number in [0, 100], got {temperature}")));
    }
    if gumbel && temperature == 0.0 {
        return Err(bad(
            "temperature 0 (greedy decoding) cannot carry this server's watermark (Gumbel-max sampling); use a temperature above 0"
                .into(),
        ));
    }
    req.temperature = Some(temperature);
    let top_p = req.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(bad(format!("top_p must be in (0, 1], got {top_p}")));
    }
    Ok(Warp { temperature: temperature.max(1e-6) as f32, top_k: req.top_k.unwrap_or(0), top_p: top_p as f32 })
}

async fn chat_for(app: &Arc<App>, account: usize, body: &[u8]) -> Response {
    let mut req: ChatCompletionRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", format!("malformed request: {e}")),
    };
    let watermarker = &app.watermarkers[account];
    let gumbel = matches!(watermarker, Watermarker::Gumbel { .. });
    let warp = match check_request(app, &mut req, gumbel) {
        Ok(w) => w,
        Err(response) => return *response,
    };
    let seed = getrandom::u64().unwrap_or(0x5eed);
    let processor = match watermarker.for_request(warp, seed, Some(Arc::clone(&app.metrics.steps[account]))) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", e.to_string()),
    };
    let (tx, mut rx) = create_response_channel(None);
    let (mut request, streaming) = match parse_request(req, Arc::clone(&app.engine), tx).await {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", e.to_string()),
    };
    match &mut request {
        mistralrs_core::Request::Normal(r) => r.logits_processors = Some(vec![Arc::new(processor)]),
        // parse_request builds normal requests only; anything else would go unwatermarked.
        _ => return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "unexpected request kind"),
    }
    if let Err(e) = send_request_with_model(&app.engine, request, None).await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            format!("the engine is not accepting requests: {e}"),
        );
    }
    if streaming {
        create_streamer(rx, Arc::clone(&app.engine), None, None).into_response()
    } else {
        process_non_streaming_response(&mut rx, Arc::clone(&app.engine)).await.into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectRequest {
    text: String,
    /// The prompt the text answers, if known (gives the first tokens their context).
    #[serde(default)]
    prompt: Option<String>,
}

async fn detect(State(app): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(caller) = bearer(&headers).and_then(|t| app.accounts.caller(t)).cloned() else {
        return error(StatusCode::UNAUTHORIZED, "invalid_api_key", "missing or unknown bearer token");
    };
    if caller.role != Role::Detector {
        return with_caller(
            error(
                StatusCode::FORBIDDEN,
                "permission_denied",
                "only [[detector]] tokens may call the detection endpoint",
            ),
            &caller.name,
        );
    }
    let body = match body_or_error(body) {
        Ok(body) => body,
        Err(response) => return with_caller(*response, &caller.name),
    };
    let req: DetectRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let response = error(StatusCode::BAD_REQUEST, "invalid_request_error", format!("malformed request: {e}"));
            return with_caller(response, &caller.name);
        }
    };
    let detector = Arc::clone(&app.detector);
    let result = tokio::task::spawn_blocking(move || detector.detect_text(&req.text, req.prompt.as_deref())).await;
    let response = match result {
        Ok(Ok(report)) => {
            let account = app.key_ids.iter().position(|k| *k == report.key_id).map(|i| app.accounts.names[i].clone());
            let mut value = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
            if let Some(map) = value.as_object_mut() {
                map.insert("account".into(), json!(account));
                map.insert("accounts_tested".into(), json!(app.key_ids.len()));
            }
            Json(value).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, "invalid_request_error", e.to_string()),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "the detector failed"),
    };
    with_caller(response, &caller.name)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP wmark_http_requests_total HTTP requests answered, by route and status.\n");
    out.push_str("# TYPE wmark_http_requests_total counter\n");
    let requests = app.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut errors = 0u64;
    for ((route, status), n) in &requests {
        out.push_str(&format!("wmark_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"));
        if *status >= 400 {
            errors += n;
        }
    }
    out.push_str("# HELP wmark_http_errors_total Responses with a status of 400 or above.\n");
    out.push_str("# TYPE wmark_http_errors_total counter\n");
    out.push_str(&format!("wmark_http_errors_total {errors}\n"));
    out.push_str("# HELP wmark_http_in_flight Requests being answered now.\n# TYPE wmark_http_in_flight gauge\n");
    out.push_str(&format!("wmark_http_in_flight {}\n", app.metrics.in_flight.load(Ordering::Relaxed)));
    let series = [
        ("wmark_generated_tokens_total", "Tokens generated (one watermark step each), by account.", 0),
        ("wmark_watermark_seconds_total", "Time spent inside the watermark, by account.", 1),
        ("wmark_watermark_unmarked_steps_total", "Steps the watermark left unmarked (short or repeated context).", 2),
    ];
    for (name, help, which) in series {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (account, t) in app.accounts.names.iter().zip(&app.metrics.steps) {
            let value = match which {
                0 => t.steps() as f64,
                1 => t.seconds(),
                _ => t.unmarked() as f64,
            };
            out.push_str(&format!("{name}{{account=\"{}\"}} {value}\n", escape_label(account)));
        }
    }
    let (steps, seconds) = app.metrics.steps.iter().fold((0u64, 0.0f64), |(n, s), t| (n + t.steps(), s + t.seconds()));
    out.push_str("# HELP wmark_watermark_seconds_per_step Mean time inside the watermark per generated token.\n");
    out.push_str("# TYPE wmark_watermark_seconds_per_step gauge\n");
    let mean = if steps == 0 { 0.0 } else { seconds / steps as f64 };
    out.push_str(&format!("wmark_watermark_seconds_per_step {mean:e}\n"));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Resolves on Ctrl-C or SIGTERM: the server then stops accepting connections and finishes
/// the requests in flight (streams included) before it exits.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("wmark serve: shutting down; finishing the requests in flight");
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn metric_labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
