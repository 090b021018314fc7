//! The events the functions handle, each with its own parser. The Lambda mains and `adx invoke`
//! parse an event's JSON with the same function ([`Event::parse`]).

use crate::kafka_event::{self, MskEvent};
use crate::s3_event;
use aws_lambda_events::event::s3::S3Event;

/// An event that a function handles, parsed from the JSON that the Lambda Runtime API delivers.
pub trait Event: Sized + Send + 'static {
    /// Parses the event; the error says why it is not one.
    fn parse(json: &[u8]) -> Result<Self, String>;
}

impl Event for S3Event {
    fn parse(json: &[u8]) -> Result<Self, String> {
        s3_event::parse_event(json)
    }
}

impl Event for MskEvent {
    fn parse(json: &[u8]) -> Result<Self, String> {
        kafka_event::parse_event(json)
    }
}
