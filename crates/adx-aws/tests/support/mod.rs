//! A local HTTP endpoint that answers with recorded AWS responses, in order, and remembers
//! what it was asked: for the calls no emulator here serves (MSK) and for faults no emulator
//! makes on demand (throttling).

#![allow(dead_code)]

use adx_aws::{AwsContext, AwsSettings};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One recorded answer.
pub struct Recorded {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(&'static str, String)>,
    /// Response body.
    pub body: String,
}

/// A request the endpoint received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method and path (`GET /api/v2/clusters/...`).
    pub line: String,
    /// `X-Amz-Target`, for JSON-protocol services.
    pub target: Option<String>,
}

/// The running endpoint.
pub struct Replay {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Requests received so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `answers` in order (the last one again once they run out).
pub fn serve(answers: Vec<Recorded>) -> Replay {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}", server.server_addr());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (index, mut request) in server.incoming_requests().enumerate() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let target = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("X-Amz-Target"))
                .map(|h| h.value.to_string());
            log.lock().unwrap().push(Seen {
                line: format!("{} {}", request.method(), request.url()),
                target,
            });
            let answer = &answers[index.min(answers.len() - 1)];
            let mut response = tiny_http::Response::from_string(answer.body.clone())
                .with_status_code(answer.status);
            for (name, value) in &answer.headers {
                response.add_header(
                    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap(),
                );
            }
            let _ = request.respond(response);
        }
    });
    Replay { url, seen }
}

/// A JSON answer.
pub fn json(status: u16, body: &str) -> Recorded {
    Recorded {
        status,
        headers: vec![
            ("Content-Type", "application/x-amz-json-1.1".into()),
            (
                "x-amzn-RequestId",
                "00000000-0000-0000-0000-000000000000".into(),
            ),
        ],
        body: body.to_string(),
    }
}

/// An AWS context whose every service is the endpoint `url`, with fast retries.
pub fn context_at(url: &str) -> AwsContext {
    let settings = AwsSettings {
        endpoint_url: Some(url.to_string()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("AKIDTEST".into(), "secret".into())),
        initial_backoff: Duration::from_millis(5),
        ..AwsSettings::default()
    };
    AwsContext::load(&settings).expect("an AWS context")
}
