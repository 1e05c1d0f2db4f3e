//! `[limits]` (OWASP API4, unrestricted resource consumption): the request
//! deadline, the body cap, the cap on requests in flight and the per-client
//! rate limit, each refusing with a problem+json answer, on SQLite and
//! (with `WARDEN_TEST_POSTGRES`) PostgreSQL. Config errors name the key.

mod common;

use common::{TestApp, backends, example_config};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::config::{Config, FilterBudget, Limits};

/// The posts example with a `[limits]` table added.
fn posts_with(limits: &str) -> Config {
    let path = example_config("posts");
    let text = std::fs::read_to_string(&path).expect("posts config");
    Config::parse(&path, &format!("{text}\n[limits]\n{limits}\n")).unwrap_or_else(|e| panic!("{e}"))
}

/// Opens a POST whose body is only half sent; the handler is then running
/// (and holding its slot) until the rest comes or the deadline passes.
async fn half_sent(app: &TestApp) -> tokio::net::TcpStream {
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/posts HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"title\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.flush().await.expect("flush");
    stream
}

/// Reads an HTTP/1.1 answer until the connection closes or `wait` passes.
async fn answer(stream: &mut tokio::net::TcpStream, wait: Duration) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buffer[..n]);
                if String::from_utf8_lossy(&bytes).contains("}") {
                    break;
                }
            }
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = Config::load(&example_config("posts")).expect("posts");
    assert_eq!(config.limits, Limits::default());
    assert_eq!(
        Limits::default(),
        Limits {
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            max_in_flight: 1024,
            rate_limit: None,
            filter: FilterBudget {
                max_bytes: 2048,
                max_terms: 128,
                max_patterns: 8,
            },
            max_searches: 2,
        }
    );
}

#[test]
fn bad_limits_are_config_errors_naming_the_key() {
    let path = example_config("posts");
    let text = std::fs::read_to_string(&path).expect("posts config");
    for (limits, key) in [
        ("request_timeout = \"soon\"", "request_timeout"),
        ("max_body_bytes = 0", "max_body_bytes"),
        ("max_in_flight = -1", "max_in_flight"),
        ("rate_limit = { per_second = 0 }", "rate_limit.per_second"),
        (
            "rate_limit = { per_second = 5, burst = 0 }",
            "rate_limit.burst",
        ),
        ("max_connections = 5", "max_connections"),
        ("max_filter_bytes = 0", "max_filter_bytes"),
        ("max_filter_terms = -5", "max_filter_terms"),
        ("max_filter_patterns = 0", "max_filter_patterns"),
        ("max_searches = 0", "max_searches"),
    ] {
        let error = Config::parse(&path, &format!("{text}\n[limits]\n{limits}\n"))
            .expect_err(limits)
            .to_string();
        assert!(error.contains(key), "{limits}: {error}");
    }
}

#[tokio::test]
async fn a_request_past_the_deadline_gets_a_503_timeout_problem() {
    for backend in backends() {
        let app =
            TestApp::spawn_config(posts_with("request_timeout = \"1s\""), backend, true).await;
        let started = Instant::now();
        let mut stream = half_sent(&app).await;
        let text = answer(&mut stream, Duration::from_secs(5)).await;
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.contains("application/problem+json"), "{text}");
        assert!(
            text.contains("https://warden.dev/problems/timeout"),
            "{text}"
        );
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
            "{elapsed:?}"
        );
        // Quick requests are unaffected.
        let (status, _) = app
            .call(reqwest::Method::GET, "/api/posts", None, None)
            .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn past_max_in_flight_requests_are_shed_with_503_and_retry_after() {
    for backend in backends() {
        let app = TestApp::spawn_config(
            posts_with("max_in_flight = 2\nrequest_timeout = \"3s\""),
            backend,
            true,
        )
        .await;
        let mut first = half_sent(&app).await;
        let mut second = half_sent(&app).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let reply = app
            .raw(reqwest::Method::GET, "/healthz", None, &[], None)
            .await;
        reply.assert_problem(503, "overloaded", "a third request");
        assert_eq!(reply.header("retry-after"), Some("1"));
        // Once the slow ones end (here: by their deadline), there is room.
        let _ = answer(&mut first, Duration::from_secs(5)).await;
        let _ = answer(&mut second, Duration::from_secs(5)).await;
        let (status, _) = app.call(reqwest::Method::GET, "/healthz", None, None).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    for backend in backends() {
        let app = TestApp::spawn_config(
            posts_with("rate_limit = { per_second = 1, burst = 3 }"),
            backend,
            true,
        )
        .await;
        for n in 0..3 {
            let (status, body) = app
                .call(reqwest::Method::GET, "/api/posts", None, None)
                .await;
            assert_eq!(status, 200, "request {n} of the burst: {body}");
        }
        let reply = app
            .raw(reqwest::Method::GET, "/api/posts", None, &[], None)
            .await;
        reply.assert_problem(429, "too-many-requests", "fourth request in a burst of 3");
        let wait: u64 = reply
            .header("retry-after")
            .expect("retry-after")
            .parse()
            .expect("seconds");
        assert!((1..=2).contains(&wait), "retry-after {wait}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, _) = app
            .call(reqwest::Method::GET, "/api/posts", None, None)
            .await;
        assert_eq!(status, 200, "a token came back after a second");
    }
}

#[tokio::test]
async fn bodies_over_max_body_bytes_get_413_as_json_and_as_a_form() {
    for backend in backends() {
        let app = TestApp::spawn_config(posts_with("max_body_bytes = 2000"), backend, true).await;
        let token = app.login("user21@example.com").await;
        let fits = serde_json::json!({"title": "t", "content": "x".repeat(1500)});
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                "/api/posts",
                Some(&token),
                Some(fits),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let over = serde_json::json!({"title": "t", "content": "x".repeat(2500)});
        let reply = app
            .json_with(
                reqwest::Method::POST,
                "/api/posts",
                Some(&token),
                &[],
                Some(over),
            )
            .await;
        reply.assert_problem(413, "payload-too-large", "JSON body over the cap");
        let form = format!("title=t&content={}", "x".repeat(2500));
        let reply = app
            .raw(
                reqwest::Method::POST,
                "/api/posts",
                None,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", "warden_session=x"),
                ],
                Some(form.into_bytes()),
            )
            .await;
        reply.assert_problem(413, "payload-too-large", "form body over the cap");
    }
}
