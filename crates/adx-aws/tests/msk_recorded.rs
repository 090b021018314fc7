//! The MSK checks of `adx doctor` against recorded MSK answers (no emulator here serves MSK):
//! DescribeClusterV2 for the cluster state, ListTopics with pagination for the topics.

mod support;

use adx_aws::doctor::{Deployment, Verdict, examine};
use adx_aws::msk::{bootstrap_brokers, cluster_state, topic_names};
use support::{Recorded, context_at, serve};

const ARN: &str = "arn:aws:kafka:us-east-1:123456789012:cluster/adx-events/7f3c2d1e-0a4b-4c5d-8e9f-112233445566-9";

fn recorded(file: &str) -> Recorded {
    let path = format!("{}/tests/recorded/{file}", env!("CARGO_MANIFEST_DIR"));
    Recorded {
        status: 200,
        headers: vec![("Content-Type", "application/json".into())],
        body: std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
    }
}

#[test]
fn the_cluster_state_comes_from_describe_cluster_v2() {
    let replay = serve(vec![recorded("msk-describe-cluster-v2.json")]);
    let context = context_at(&replay.url);
    assert_eq!(cluster_state(&context, ARN).unwrap(), "ACTIVE");
    let seen = replay.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .line
            .starts_with("GET /api/v2/clusters/arn%3Aaws%3Akafka"),
        "{seen:?}"
    );
}

#[test]
fn the_iam_bootstrap_brokers_come_from_get_bootstrap_brokers() {
    let replay = serve(vec![recorded("msk-get-bootstrap-brokers.json")]);
    let context = context_at(&replay.url);
    let brokers = bootstrap_brokers(&context, ARN).unwrap();
    assert_eq!(
        brokers.sasl_iam.as_deref(),
        Some(
            "b-1.adxevents.abc123.c4.kafka.us-east-1.amazonaws.com:9098,b-2.adxevents.abc123.c4.kafka.us-east-1.amazonaws.com:9098"
        )
    );
    assert!(brokers.plaintext.unwrap().ends_with(":9092"));
    let seen = replay.seen.lock().unwrap().clone();
    assert!(
        seen[0]
            .line
            .starts_with("GET /v1/clusters/arn%3Aaws%3Akafka")
            && seen[0].line.contains("/bootstrap-brokers"),
        "{seen:?}"
    );
}

#[test]
fn topics_are_listed_across_pages() {
    let replay = serve(vec![
        recorded("msk-list-topics.json"),
        recorded("msk-list-topics-2.json"),
    ]);
    let context = context_at(&replay.url);
    let names = topic_names(&context, ARN).unwrap();
    assert_eq!(
        names,
        ["ad_impressions", "click_conversions", "__consumer_offsets"]
    );
    let seen = replay.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].line.contains("nextToken=eyJvZmZzZXQiOjJ9"),
        "{seen:?}"
    );
}

#[test]
fn a_missing_topic_and_a_cluster_not_active_fail_the_doctor() {
    let mut describe = recorded("msk-describe-cluster-v2.json");
    describe.body = describe.body.replace("\"ACTIVE\"", "\"UPDATING\"");
    let registry = support::json(
        200,
        r#"{"RegistryName":"advertisex","RegistryArn":"arn:aws:glue:us-east-1:123456789012:registry/advertisex","Status":"AVAILABLE"}"#,
    );
    let replay = serve(vec![registry, describe, recorded("msk-list-topics-2.json")]);
    let context = context_at(&replay.url);
    let deployment = Deployment {
        cluster_arn: Some(ARN.into()),
        topics: vec!["bid_requests".into(), "__consumer_offsets".into()],
        ..Deployment::default()
    };
    // No buckets or schemas are asked for: the registry is checked, then the cluster.
    let findings = examine(&context, &deployment);
    let table: Vec<(String, Verdict)> = findings
        .iter()
        .map(|f| (f.what.clone(), f.verdict))
        .collect();
    assert_eq!(
        table,
        [
            ("registry".to_string(), Verdict::Ok),
            ("msk cluster".to_string(), Verdict::Fail),
            ("topic bid_requests".to_string(), Verdict::Fail),
            ("topic __consumer_offsets".to_string(), Verdict::Ok),
        ],
        "{findings:?}"
    );
    assert!(findings[1].detail.contains("UPDATING"), "{findings:?}");
}
