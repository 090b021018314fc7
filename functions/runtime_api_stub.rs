//! A stand-in of the Lambda Runtime API for the functions' tests (included by each with
//! `#[path]`): it hands out the given events in turn, then holds `next` as Lambda freezes an
//! idle function, and sends each answer the function posts (URL, body) back to the test.

use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// A running stand-in.
pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    /// The answers posted: URL and body.
    pub answers: Receiver<(String, String)>,
}

/// Starts a stand-in that hands `events` (request id, JSON body) to the function `function`.
pub fn start(function: &str, events: Vec<(String, String)>) -> RuntimeApi {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let address = server.server_addr().to_string();
    let (sender, answers) = mpsc::channel::<(String, String)>();
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    std::thread::spawn(move || {
        let mut pending = events.into_iter();
        for mut request in server.incoming_requests() {
            let url = request.url().to_string();
            if url.ends_with("/invocation/next") {
                let Some((id, body)) = pending.next() else {
                    // Lambda freezes an idle function; here the test ends it.
                    std::thread::sleep(Duration::from_secs(60));
                    continue;
                };
                let response = tiny_http::Response::from_string(body)
                    .with_header(header("Lambda-Runtime-Aws-Request-Id", &id))
                    .with_header(header("Lambda-Runtime-Deadline-Ms", "4102444800000"))
                    .with_header(header("Lambda-Runtime-Invoked-Function-Arn", &arn))
                    .with_header(header("Content-Type", "application/json"));
                let _ = request.respond(response);
            } else {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let _ = request.respond(tiny_http::Response::empty(202));
                let _ = sender.send((url, body));
            }
        }
    });
    RuntimeApi { address, answers }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}
