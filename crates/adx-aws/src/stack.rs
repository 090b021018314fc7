//! A deployed stack as `adx doctor --stack` sees it: its CloudFormation outputs (so that the
//! doctor needs no flag per bucket, registry or function), and the checks only a whole
//! deployment can fail: the stream function's event source mappings, the landing bucket's
//! notifications to the file function, and a confirmed subscription to the alarm topic.
//!
//! The verdicts are pure functions of what the services answered, so that each answer AWS can
//! give (a mapping in `PROBLEM`, a subscription pending confirmation) is tested without an
//! account; the calls that fetch those answers are tested on moto and LocalStack.

use crate::AwsContext;
use crate::doctor::{Finding, Verdict};
use crate::error::{AwsError, describe};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::collections::BTreeMap;

/// The output keys `adx doctor --stack` reads (the template's `Outputs`; a test holds the two
/// together).
pub mod output {
    /// The landing bucket's name.
    pub const LANDING_BUCKET: &str = "LandingBucketName";
    /// The curated bucket's name.
    pub const CURATED_BUCKET: &str = "CuratedBucketName";
    /// The quarantine bucket's name.
    pub const QUARANTINE_BUCKET: &str = "QuarantineBucketName";
    /// The Glue Schema Registry's name.
    pub const REGISTRY: &str = "RegistryName";
    /// The Glue database of the Iceberg tables.
    pub const DATABASE: &str = "GlueDatabase";
    /// The MSK cluster's ARN.
    pub const CLUSTER_ARN: &str = "MskClusterArn";
    /// The topics, comma-separated (not `MskTopics`: an output named as a parameter breaks
    /// `sam build`).
    pub const TOPICS: &str = "StreamTopics";
    /// The file function's name.
    pub const FILE_FUNCTION: &str = "FileIngestFunctionName";
    /// The stream function's name.
    pub const STREAM_FUNCTION: &str = "StreamIngestFunctionName";
    /// The alarm topic's ARN.
    pub const ALARM_TOPIC: &str = "AlarmTopicArn";
    /// Every key above.
    pub const ALL: [&str; 10] = [
        LANDING_BUCKET,
        CURATED_BUCKET,
        QUARANTINE_BUCKET,
        REGISTRY,
        DATABASE,
        CLUSTER_ARN,
        TOPICS,
        FILE_FUNCTION,
        STREAM_FUNCTION,
        ALARM_TOPIC,
    ];
}

/// The outputs of one stack, by output key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOutputs {
    /// The stack's name.
    pub name: String,
    /// Its status (`CREATE_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, ...).
    pub status: String,
    /// Output key to value.
    pub values: BTreeMap<String, String>,
}

impl StackOutputs {
    /// Reads the outputs of `stack` (DescribeStacks).
    pub fn read(context: &AwsContext, stack: &str) -> Result<StackOutputs, AwsError> {
        let client = aws_sdk_cloudformation::Client::new(context.sdk_config());
        let answer = context
            .block_on(client.describe_stacks().stack_name(stack).send())
            .map_err(|e| AwsError::Call {
                operation: "DescribeStacks",
                target: stack.to_string(),
                message: format!(
                    "{} (is the stack deployed in region {}? `sam deploy` makes it)",
                    describe(&e),
                    context.region().unwrap_or("(none set)")
                ),
            })?;
        let Some(found) = answer.stacks().first() else {
            return Err(AwsError::Call {
                operation: "DescribeStacks",
                target: stack.to_string(),
                message: "no such stack".into(),
            });
        };
        Ok(StackOutputs {
            name: stack.to_string(),
            status: found
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            values: found
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
        })
    }

    /// The value of output `key`, if the stack has it and it is not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The verdict on the stack's own status: a stack that failed or rolled back does not
    /// hold what its template says.
    pub fn status_finding(&self) -> Finding {
        let what = format!("stack {}", self.name);
        let status = self.status.as_str();
        if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
            finding(what, Verdict::Ok, status.to_string())
        } else if status.ends_with("_IN_PROGRESS") {
            finding(
                what,
                Verdict::Warn,
                format!("{status}: run the doctor again when the deployment has finished"),
            )
        } else {
            finding(
                what,
                Verdict::Fail,
                format!(
                    "{status}: the last deployment did not complete; read its events \
                     (aws cloudformation describe-stack-events --stack-name {}) and deploy again",
                    self.name
                ),
            )
        }
    }
}

/// What the stack-wide checks look at, as the stack's outputs name it.
#[derive(Debug, Clone, Default)]
pub struct StackWiring {
    /// The landing bucket, whose notifications must reach the file function.
    pub landing_bucket: String,
    /// The file function's name.
    pub file_function: Option<String>,
    /// The stream function's name, whose event source mappings are checked.
    pub stream_function: Option<String>,
    /// The alarm topic's ARN, which must have a confirmed subscription.
    pub alarm_topic_arn: Option<String>,
}

/// One event source mapping, as ListEventSourceMappings describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingState {
    /// The mapping's UUID.
    pub uuid: String,
    /// Its event source (the MSK cluster's ARN).
    pub source: String,
    /// `Enabled`, `Disabled`, `Creating`, ...
    pub state: String,
    /// Why it is in that state.
    pub state_reason: String,
    /// `OK`, `No records processed`, or `PROBLEM: ...`, if Lambda has reported one.
    pub last_processing_result: Option<String>,
}

/// One notification of a bucket to a Lambda function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaNotification {
    /// The function's ARN.
    pub function_arn: String,
    /// The events that trigger it.
    pub events: Vec<String>,
    /// The key prefix its filter restricts it to, if any.
    pub prefix: Option<String>,
}

/// One subscription of a topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Its ARN, or `PendingConfirmation` until the endpoint confirms.
    pub arn: String,
    /// `email`, `https`, `sqs`, ...
    pub protocol: String,
    /// The address it delivers to.
    pub endpoint: String,
}

fn finding(what: String, verdict: Verdict, detail: impl Into<String>) -> Finding {
    Finding {
        what,
        verdict,
        detail: detail.into(),
    }
}

/// Runs the stack-wide checks; a failed call is a failed check, never an early stop.
pub fn examine_wiring(context: &AwsContext, wiring: &StackWiring) -> Vec<Finding> {
    let mut findings = Vec::new();
    match &wiring.stream_function {
        None => findings.push(finding(
            "stream mappings".into(),
            Verdict::Warn,
            "not checked: the stack has no StreamIngestFunctionName output (an older template)",
        )),
        Some(function) => match list_mappings(context, function) {
            Ok(mappings) => findings.extend(mapping_findings(function, &mappings)),
            Err(e) => findings.push(finding(
                "stream mappings".into(),
                Verdict::Fail,
                e.to_string(),
            )),
        },
    }
    match &wiring.file_function {
        None => findings.push(finding(
            "landing notifications".into(),
            Verdict::Warn,
            "not checked: the stack has no FileIngestFunctionName output",
        )),
        Some(function) => match bucket_notifications(context, &wiring.landing_bucket) {
            Ok(notifications) => findings.push(notification_finding(
                &wiring.landing_bucket,
                function,
                &notifications,
            )),
            Err(e) => findings.push(finding(
                "landing notifications".into(),
                Verdict::Fail,
                e.to_string(),
            )),
        },
    }
    match &wiring.alarm_topic_arn {
        None => findings.push(finding(
            "alarm subscription".into(),
            Verdict::Warn,
            "not checked: the stack has no AlarmTopicArn output",
        )),
        Some(topic) => match subscriptions(context, topic) {
            Ok(subs) => findings.push(subscription_finding(topic, &subs)),
            Err(e) => findings.push(finding(
                "alarm subscription".into(),
                Verdict::Fail,
                e.to_string(),
            )),
        },
    }
    findings
}

/// The event source mappings of `function` (ListEventSourceMappings, every page).
pub fn list_mappings(context: &AwsContext, function: &str) -> Result<Vec<MappingState>, AwsError> {
    let client = aws_sdk_lambda::Client::new(context.sdk_config());
    let pages = client
        .list_event_source_mappings()
        .function_name(function)
        .into_paginator()
        .items()
        .send();
    let items = every_item(
        context.block_on(pages.collect()),
        "ListEventSourceMappings",
        function,
    )?;
    Ok(items
        .into_iter()
        .map(|m| MappingState {
            uuid: m.uuid().unwrap_or_default().to_string(),
            source: m.event_source_arn().unwrap_or_default().to_string(),
            state: m.state().unwrap_or_default().to_string(),
            state_reason: m.state_transition_reason().unwrap_or_default().to_string(),
            last_processing_result: m
                .last_processing_result()
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        })
        .collect())
}

/// The items of a paginator's pages, or the first call that failed.
fn every_item<T, E, R>(
    items: Vec<Result<T, SdkError<E, R>>>,
    operation: &'static str,
    target: &str,
) -> Result<Vec<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    items
        .into_iter()
        .map(|item| {
            item.map_err(|e| AwsError::Call {
                operation,
                target: target.to_string(),
                message: describe(&e),
            })
        })
        .collect()
}

/// The Lambda notifications of `bucket` (GetBucketNotificationConfiguration).
pub fn bucket_notifications(
    context: &AwsContext,
    bucket: &str,
) -> Result<Vec<LambdaNotification>, AwsError> {
    let answer = context
        .block_on(
            context
                .s3()
                .get_bucket_notification_configuration()
                .bucket(bucket)
                .send(),
        )
        .map_err(|e| AwsError::Call {
            operation: "GetBucketNotificationConfiguration",
            target: bucket.to_string(),
            message: describe(&e),
        })?;
    Ok(answer
        .lambda_function_configurations()
        .iter()
        .map(|c| LambdaNotification {
            function_arn: c.lambda_function_arn().to_string(),
            events: c.events().iter().map(|e| e.as_str().to_string()).collect(),
            prefix: c
                .filter()
                .and_then(|f| f.key())
                .map(|k| k.filter_rules())
                .and_then(|rules| {
                    rules
                        .iter()
                        .find(|r| {
                            r.name()
                                .is_some_and(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                        })
                        .and_then(|r| r.value())
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                }),
        })
        .collect())
}

/// The subscriptions of `topic` (ListSubscriptionsByTopic, every page).
pub fn subscriptions(context: &AwsContext, topic: &str) -> Result<Vec<Subscription>, AwsError> {
    let client = aws_sdk_sns::Client::new(context.sdk_config());
    let pages = client
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .items()
        .send();
    let items = every_item(
        context.block_on(pages.collect()),
        "ListSubscriptionsByTopic",
        topic,
    )?;
    Ok(items
        .into_iter()
        .map(|s| Subscription {
            arn: s.subscription_arn().unwrap_or_default().to_string(),
            protocol: s.protocol().unwrap_or_default().to_string(),
            endpoint: s.endpoint().unwrap_or_default().to_string(),
        })
        .collect())
}

/// What to do about a `PROBLEM: ...` processing result, by the kind of problem it names
/// (the messages are those of the Lambda guide's MSK troubleshooting page).
fn problem_hint(problem: &str) -> &'static str {
    let lower = problem.to_ascii_lowercase();
    if lower.contains("connection")
        || lower.contains("could not be reached")
        || lower.contains("timed out")
        || lower.contains("vpc")
        || lower.contains("network")
    {
        "the mapping cannot reach the brokers: the cluster's subnets need a NAT gateway or VPC \
         endpoints for Lambda and STS (and S3, for the failure destination), and its security \
         group must accept itself on the broker ports (README, 'MSK in a VPC')"
    } else if lower.contains("sasl")
        || lower.contains("authenticat")
        || lower.contains("authoriz")
        || lower.contains("authn")
        || lower.contains("authz")
        || lower.contains("permission")
        || lower.contains("access denied")
    {
        "the mapping is refused by the cluster: IAM access must be on for the cluster, and the \
         stream role may only name the topics of MskTopics and the group MskConsumerGroupId; \
         check that both match the cluster and deploy again"
    } else if lower.contains("topic") {
        "a topic of MskTopics is missing on the cluster: create it, or deploy with MskTopics \
         naming the topics that exist"
    } else if lower.contains("function") || lower.contains("lambda") {
        "the function fails on the batches: read its log group, and `adx failed list` for the \
         batches sent to the failure destination"
    } else {
        "look this message up in the Lambda guide's MSK troubleshooting page"
    }
}

/// The verdicts on the stream function's event source mappings: each mapping's state, and
/// the last processing result Lambda reported for it.
pub fn mapping_findings(function: &str, mappings: &[MappingState]) -> Vec<Finding> {
    if mappings.is_empty() {
        return vec![finding(
            "stream mappings".into(),
            Verdict::Fail,
            format!(
                "{function} has no event source mapping: no MSK record reaches it; deploy the \
                 stack again (its MSK event makes the mapping)"
            ),
        )];
    }
    let mut findings = Vec::new();
    for m in mappings {
        let short = m.uuid.get(..8).unwrap_or(&m.uuid);
        let what = format!("mapping {short} state");
        let reason = if m.state_reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.state_reason)
        };
        findings.push(match m.state.as_str() {
            "Enabled" => finding(what, Verdict::Ok, format!("Enabled, from {}", m.source)),
            "Creating" | "Enabling" | "Updating" => finding(
                what,
                Verdict::Warn,
                format!("{}{reason}: run the doctor again in a minute", m.state),
            ),
            other => finding(
                what,
                Verdict::Fail,
                format!(
                    "{other}{reason}: no batch is read; enable it \
                     (aws lambda update-event-source-mapping --uuid {} --enabled){}",
                    m.uuid,
                    if m.state_reason.starts_with("PROBLEM")
                        || m.state_reason.ends_with("_ERROR")
                        || m.state_reason.ends_with("_NOT_VALID")
                    {
                        format!(" after fixing the cause: {}", problem_hint(&m.state_reason))
                    } else {
                        String::new()
                    }
                ),
            ),
        });
        let what = format!("mapping {short} last result");
        findings.push(match m.last_processing_result.as_deref() {
            None => finding(
                what,
                Verdict::Warn,
                "none reported yet (a new mapping reports after its first poll)",
            ),
            Some("OK") => finding(what, Verdict::Ok, "OK"),
            Some(r) if r.eq_ignore_ascii_case("No records processed") => finding(
                what,
                Verdict::Ok,
                "no records processed yet (nothing has been produced to its topics)",
            ),
            Some(problem) => finding(
                what,
                Verdict::Fail,
                format!("{problem}: {}", problem_hint(problem)),
            ),
        });
    }
    findings
}

/// The verdict on the landing bucket's notifications: every object created anywhere in the
/// bucket must invoke the file function, or the drops of some dataset are never read.
pub fn notification_finding(
    bucket: &str,
    function: &str,
    notifications: &[LambdaNotification],
) -> Finding {
    let what = "landing notifications".to_string();
    let targets = |n: &&LambdaNotification| {
        n.function_arn == function
            || n.function_arn.ends_with(&format!(":function:{function}"))
            || n.function_arn.contains(&format!(":function:{function}:"))
    };
    let all_created = |n: &LambdaNotification| {
        n.events.iter().any(|e| e == "s3:ObjectCreated:*")
            || [
                "s3:ObjectCreated:Put",
                "s3:ObjectCreated:Post",
                "s3:ObjectCreated:Copy",
                "s3:ObjectCreated:CompleteMultipartUpload",
            ]
            .iter()
            .all(|wanted| n.events.iter().any(|e| e == wanted))
    };
    let ours: Vec<&LambdaNotification> = notifications.iter().filter(targets).collect();
    let redeploy = "deploy the stack again (sam deploy) to restore it; a notification changed \
                    by hand or by another tool replaces the stack's";
    if ours.is_empty() {
        return finding(
            what,
            Verdict::Fail,
            format!("s3://{bucket} does not invoke {function}: no drop is ingested; {redeploy}"),
        );
    }
    if let Some(whole) = ours.iter().find(|n| n.prefix.is_none() && all_created(n)) {
        return finding(
            what,
            Verdict::Ok,
            format!(
                "every object created in s3://{bucket} invokes {function} ({})",
                whole.events.join(", ")
            ),
        );
    }
    let partial: Vec<String> = ours
        .iter()
        .map(|n| match &n.prefix {
            Some(prefix) => format!("{} under {prefix}", n.events.join(", ")),
            None => n.events.join(", "),
        })
        .collect();
    finding(
        what,
        Verdict::Fail,
        format!(
            "s3://{bucket} invokes {function} only for {}: other drops are never ingested; \
             {redeploy}",
            partial.join("; ")
        ),
    )
}

/// The verdict on the alarm topic: somebody must have confirmed a subscription, or every
/// alarm goes nowhere.
pub fn subscription_finding(topic: &str, subscriptions: &[Subscription]) -> Finding {
    let what = "alarm subscription".to_string();
    let confirmed: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| s.arn.starts_with("arn:"))
        .collect();
    if !confirmed.is_empty() {
        let who: Vec<String> = confirmed
            .iter()
            .map(|s| format!("{} {}", s.protocol, s.endpoint))
            .collect();
        return finding(
            what,
            Verdict::Ok,
            format!("{} confirmed: {}", confirmed.len(), who.join(", ")),
        );
    }
    if subscriptions.is_empty() {
        return finding(
            what,
            Verdict::Fail,
            format!(
                "{topic} has no subscription: alarms reach nobody; deploy with \
                 --parameter-overrides AlarmEmail=<address>, or \
                 aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint <address>"
            ),
        );
    }
    let pending: Vec<&str> = subscriptions.iter().map(|s| s.endpoint.as_str()).collect();
    finding(
        what,
        Verdict::Fail,
        format!(
            "pending confirmation ({}): alarms reach nobody until the link in AWS's \
             'Subscription Confirmation' email is followed (look in spam; it expires after 3 days, \
             then deploy again or subscribe again)",
            pending.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(state: &str, result: Option<&str>) -> MappingState {
        MappingState {
            uuid: "0d9b2a7e-1111-2222-3333-444455556666".into(),
            source: "arn:aws:kafka:eu-west-1:123456789012:cluster/adx/abc".into(),
            state: state.into(),
            state_reason: "USER_INITIATED".into(),
            last_processing_result: result.map(str::to_string),
        }
    }

    fn verdicts(findings: &[Finding]) -> Vec<Verdict> {
        findings.iter().map(|f| f.verdict).collect()
    }

    #[test]
    fn an_enabled_mapping_that_processed_is_fine() {
        let f = mapping_findings("adx-stream", &[mapping("Enabled", Some("OK"))]);
        assert_eq!(verdicts(&f), [Verdict::Ok, Verdict::Ok]);
        assert_eq!(f[0].what, "mapping 0d9b2a7e state");
        let f = mapping_findings(
            "adx-stream",
            &[mapping("Enabled", Some("No records processed"))],
        );
        assert_eq!(verdicts(&f), [Verdict::Ok, Verdict::Ok]);
        assert!(f[1].detail.contains("no records processed yet"), "{f:?}");
    }

    #[test]
    fn a_disabled_mapping_fails_and_says_how_to_enable_it() {
        let f = mapping_findings("adx-stream", &[mapping("Disabled", None)]);
        assert_eq!(verdicts(&f), [Verdict::Fail, Verdict::Warn]);
        assert!(
            f[0].detail.contains(
                "aws lambda update-event-source-mapping --uuid 0d9b2a7e-1111-2222-3333-444455556666 --enabled"
            ),
            "{f:?}"
        );
    }

    #[test]
    fn a_mapping_lambda_stopped_says_why() {
        let mut stopped = mapping("Disabled", None);
        stopped.state_reason = "EVENT_SOURCE_AUTHZ_ERROR".into();
        let f = mapping_findings("adx-stream", &[stopped]);
        assert_eq!(f[0].verdict, Verdict::Fail);
        assert!(
            f[0].detail.contains("EVENT_SOURCE_AUTHZ_ERROR")
                && f[0].detail.contains("after fixing the cause")
                && f[0].detail.contains("IAM access must be on"),
            "{f:?}"
        );
    }

    #[test]
    fn a_mapping_in_progress_is_a_warning() {
        let f = mapping_findings("adx-stream", &[mapping("Creating", None)]);
        assert_eq!(f[0].verdict, Verdict::Warn);
    }

    #[test]
    fn each_kind_of_problem_gets_its_own_remedy() {
        for (problem, remedy) in [
            (
                "PROBLEM: Connection error. Your event source VPC must be able to connect to Lambda and STS.",
                "NAT gateway or VPC endpoints for Lambda and STS",
            ),
            (
                "PROBLEM: SASL authentication failed.",
                "IAM access must be on",
            ),
            (
                "PROBLEM: Lambda failed to invoke the function.",
                "adx failed list",
            ),
            ("PROBLEM: Topic not found.", "create it"),
            ("PROBLEM: Something new.", "troubleshooting page"),
        ] {
            let f = mapping_findings("adx-stream", &[mapping("Enabled", Some(problem))]);
            assert_eq!(f[1].verdict, Verdict::Fail, "{problem}");
            assert!(
                f[1].detail.starts_with(problem) && f[1].detail.contains(remedy),
                "{problem}: {}",
                f[1].detail
            );
        }
    }

    #[test]
    fn no_mapping_at_all_fails() {
        let f = mapping_findings("adx-stream", &[]);
        assert_eq!(verdicts(&f), [Verdict::Fail]);
        assert!(f[0].detail.contains("no event source mapping"));
    }

    fn notification(arn: &str, events: &[&str], prefix: Option<&str>) -> LambdaNotification {
        LambdaNotification {
            function_arn: arn.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            prefix: prefix.map(str::to_string),
        }
    }

    const FILE_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:adx-prod-file-ingest";

    #[test]
    fn the_whole_bucket_must_invoke_the_file_function() {
        let ok = notification_finding(
            "landing",
            "adx-prod-file-ingest",
            &[notification(FILE_ARN, &["s3:ObjectCreated:*"], None)],
        );
        assert_eq!(ok.verdict, Verdict::Ok, "{ok:?}");

        let prefixed = notification_finding(
            "landing",
            "adx-prod-file-ingest",
            &[notification(
                FILE_ARN,
                &["s3:ObjectCreated:*"],
                Some("ad_impressions/"),
            )],
        );
        assert_eq!(prefixed.verdict, Verdict::Fail);
        assert!(
            prefixed.detail.contains("under ad_impressions/"),
            "{prefixed:?}"
        );

        let only_put = notification_finding(
            "landing",
            "adx-prod-file-ingest",
            &[notification(FILE_ARN, &["s3:ObjectCreated:Put"], None)],
        );
        assert_eq!(
            only_put.verdict,
            Verdict::Fail,
            "a multipart upload would be missed"
        );

        let elsewhere = notification_finding(
            "landing",
            "adx-prod-file-ingest",
            &[notification(
                "arn:aws:lambda:eu-west-1:123456789012:function:someone-else",
                &["s3:ObjectCreated:*"],
                None,
            )],
        );
        assert_eq!(elsewhere.verdict, Verdict::Fail);
        assert!(elsewhere.detail.contains("sam deploy"), "{elsewhere:?}");
    }

    fn subscription(arn: &str, endpoint: &str) -> Subscription {
        Subscription {
            arn: arn.into(),
            protocol: "email".into(),
            endpoint: endpoint.into(),
        }
    }

    #[test]
    fn alarms_need_a_confirmed_subscription() {
        let topic = "arn:aws:sns:eu-west-1:123456789012:adx-prod-alarms";
        assert_eq!(subscription_finding(topic, &[]).verdict, Verdict::Fail);
        let pending = subscription_finding(
            topic,
            &[subscription("PendingConfirmation", "oncall@example.com")],
        );
        assert_eq!(pending.verdict, Verdict::Fail);
        assert!(
            pending.detail.contains("oncall@example.com")
                && pending.detail.contains("Subscription Confirmation"),
            "{pending:?}"
        );
        let confirmed = subscription_finding(
            topic,
            &[
                subscription("PendingConfirmation", "new@example.com"),
                subscription(&format!("{topic}:5f0c"), "oncall@example.com"),
            ],
        );
        assert_eq!(confirmed.verdict, Verdict::Ok);
        assert!(
            confirmed
                .detail
                .contains("1 confirmed: email oncall@example.com")
        );
    }

    #[test]
    fn a_stack_that_rolled_back_fails() {
        let mut outputs = StackOutputs {
            name: "adx-prod".into(),
            status: "UPDATE_COMPLETE".into(),
            values: BTreeMap::new(),
        };
        assert_eq!(outputs.status_finding().verdict, Verdict::Ok);
        outputs.status = "UPDATE_ROLLBACK_COMPLETE".into();
        let f = outputs.status_finding();
        assert_eq!(f.verdict, Verdict::Fail);
        assert!(
            f.detail
                .contains("describe-stack-events --stack-name adx-prod")
        );
        outputs.status = "UPDATE_IN_PROGRESS".into();
        assert_eq!(outputs.status_finding().verdict, Verdict::Warn);
    }
}
