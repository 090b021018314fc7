//! `adx doctor --stack` on the emulators: a small stack deployed to moto's CloudFormation
//! (alarm topic, a queue standing in for the MSK cluster, the two functions, the stream
//! function's event source mapping) with the output keys of `template.yaml`, the buckets on
//! LocalStack and the registry on moto. The doctor reads everything from the stack's outputs,
//! and each piece of wiring is broken and mended in turn: the landing bucket's notification,
//! the alarm topic's subscription, the mapping's state.
//!
//! Run by `infra/test-all.sh`, which starts the emulators.

mod common;

use common::aws::{World, context, repo_root, unique};
use std::process::{Command, Output};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// moto serves CloudFormation, Lambda and SNS on the same port as Glue.
fn moto() -> String {
    std::env::var("AWS_ENDPOINT_URL_GLUE").expect("AWS_ENDPOINT_URL_GLUE (moto)")
}

/// `adx doctor --stack <stack> [flags]`, with the buckets' and the registry's variables set to
/// names that do not exist: the stack's outputs must win over them (a shell that sourced
/// `infra/local/env.sh` has them set), and only a typed flag wins over the outputs.
fn doctor(stack: &str, flags: &[&str]) -> (bool, String) {
    let moto = moto();
    let out = Command::new(env!("CARGO_BIN_EXE_adx"))
        .args(["doctor", "--stack", stack])
        .args(flags)
        .current_dir(repo_root())
        .env("LANDING_BUCKET", "it-env-landing-not-there")
        .env("CURATED_BUCKET", "it-env-curated-not-there")
        .env("QUARANTINE_BUCKET", "it-env-quarantine-not-there")
        .env("REGISTRY_NAME", "it-env-registry-not-there")
        .env("MSK_TOPICS", "it-env-topic")
        .env_remove("MSK_CLUSTER_ARN")
        .env_remove("TABLE_DATABASE")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &moto)
        .env("AWS_ENDPOINT_URL_LAMBDA", &moto)
        .env("AWS_ENDPOINT_URL_SNS", &moto)
        .output()
        .expect("run adx");
    (out.status.success(), text(&out))
}

/// The row of `check` in the doctor's table.
fn row<'a>(table: &'a str, check: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(check))
        .unwrap_or_else(|| panic!("no row {check}:\n{table}"))
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn doctor_reads_a_stack_and_checks_its_wiring() {
    let context = context();
    let world = World::new(&context, "stack");
    world.push_schemas();
    let stack = unique("it-stack");
    let file_function = format!("{stack}-file-ingest");
    let stream_function = format!("{stack}-stream-ingest");
    let template = serde_json::json!({
        "Resources": {
            "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": format!("{stack}-alarms")}},
            "Events": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": format!("{stack}-events")}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
            "FileIngestFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": file_function, "Runtime": "python3.12", "Handler": "index.h",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "def h(e, c): pass"}}},
            "StreamIngestFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": stream_function, "Runtime": "python3.12", "Handler": "index.h",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "def h(e, c): pass"}}},
            "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "FunctionName": {"Ref": "StreamIngestFunction"},
                "EventSourceArn": {"Fn::GetAtt": ["Events", "Arn"]}}}
        },
        "Outputs": {
            "LandingBucketName": {"Value": world.landing},
            "CuratedBucketName": {"Value": world.curated},
            "QuarantineBucketName": {"Value": world.quarantine},
            "RegistryName": {"Value": world.registry},
            "StreamTopics": {"Value": {"Fn::Join": [",", ["ad_impressions", "bid_requests"]]}},
            "FileIngestFunctionName": {"Value": {"Ref": "FileIngestFunction"}},
            "StreamIngestFunctionName": {"Value": {"Ref": "StreamIngestFunction"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}}
        }
    });
    let sdk = context.sdk_config();
    let with_moto = |b: aws_sdk_cloudformation::config::Builder| b.endpoint_url(moto()).build();
    let cloudformation = aws_sdk_cloudformation::Client::from_conf(with_moto(
        aws_sdk_cloudformation::config::Builder::from(sdk),
    ));
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(sdk)
            .endpoint_url(moto())
            .build(),
    );
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(sdk)
            .endpoint_url(moto())
            .build(),
    );
    context
        .block_on(
            cloudformation
                .create_stack()
                .stack_name(&stack)
                .template_body(template.to_string())
                .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
                .send(),
        )
        .expect("create the stack on moto");
    let outputs = context
        .block_on(cloudformation.describe_stacks().stack_name(&stack).send())
        .expect("describe the stack");
    let alarm_topic = outputs.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("AlarmTopicArn"))
        .and_then(|o| o.output_value())
        .expect("AlarmTopicArn output")
        .to_string();

    // As deployed: no notification on the landing bucket (ours is made outside the stack
    // here), and nobody subscribed to the alarms.
    let (ok, table) = doctor(&stack, &[]);
    assert!(!ok, "{table}");
    assert!(
        row(&table, &format!("stack {stack}")).contains("CREATE_COMPLETE"),
        "{table}"
    );
    for check in [
        "bucket landing",
        "bucket curated",
        "bucket quarantine",
        "registry",
    ] {
        assert!(row(&table, check).contains("  ok  "), "{check}:\n{table}");
    }
    assert!(
        row(&table, "bucket landing").contains(&world.landing),
        "the bucket came from the stack's output:\n{table}"
    );
    let notifications = row(&table, "landing notifications");
    assert!(
        notifications.contains("FAIL")
            && notifications.contains(&format!("does not invoke {file_function}"))
            && notifications.contains("sam deploy"),
        "{table}"
    );
    let alarms = row(&table, "alarm subscription");
    assert!(
        alarms.contains("FAIL") && alarms.contains("AlarmEmail="),
        "{table}"
    );
    let state = row(&table, "mapping ");
    assert!(
        state.contains("  ok  ") && state.contains("Enabled"),
        "{table}"
    );
    // (The topics come from the stack's `StreamTopics` too; the doctor checks them only with a
    // cluster, which no emulator serves: the choice is unit-tested in doctor_cmd.rs.)

    // A flag typed on the command line wins over the stack's output.
    let (ok, table) = doctor(&stack, &["--quarantine-bucket", "it-typed-not-there"]);
    assert!(!ok, "{table}");
    assert!(
        row(&table, "bucket quarantine").contains("s3://it-typed-not-there does not exist"),
        "{table}"
    );

    // Mended: every object created in the landing bucket invokes the file function, and an
    // address is subscribed.
    let file_arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{file_function}");
    let notification = aws_sdk_s3::types::LambdaFunctionConfiguration::builder()
        .lambda_function_arn(&file_arn)
        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
        .build()
        .unwrap();
    context
        .block_on(
            context
                .s3()
                .put_bucket_notification_configuration()
                .bucket(&world.landing)
                .skip_destination_validation(true)
                .notification_configuration(
                    aws_sdk_s3::types::NotificationConfiguration::builder()
                        .lambda_function_configurations(notification)
                        .build(),
                )
                .send(),
        )
        .expect("put the landing notification");
    context
        .block_on(
            sns.subscribe()
                .topic_arn(&alarm_topic)
                .protocol("email")
                .endpoint("oncall@example.com")
                .send(),
        )
        .expect("subscribe to the alarm topic");
    let (ok, table) = doctor(&stack, &[]);
    assert!(ok, "{table}");
    assert!(
        row(&table, "landing notifications").contains("  ok  "),
        "{table}"
    );
    assert!(
        row(&table, "alarm subscription").contains("email oncall@example.com"),
        "{table}"
    );

    // A disabled mapping reads no batch: it fails, and says how to enable it.
    let mappings = context
        .block_on(
            lambda
                .list_event_source_mappings()
                .function_name(&stream_function)
                .send(),
        )
        .expect("list the mappings");
    let uuid = mappings.event_source_mappings()[0]
        .uuid()
        .expect("a mapping id")
        .to_string();
    context
        .block_on(
            lambda
                .update_event_source_mapping()
                .uuid(&uuid)
                .enabled(false)
                .send(),
        )
        .expect("disable the mapping");
    let (ok, table) = doctor(&stack, &[]);
    assert!(!ok, "{table}");
    let state = row(&table, "mapping ");
    assert!(
        state.contains("FAIL")
            && state.contains(&format!(
                "aws lambda update-event-source-mapping --uuid {uuid} --enabled"
            )),
        "{table}"
    );
}

#[test]
#[ignore = "needs moto: infra/test-all.sh starts it"]
fn doctor_says_when_the_stack_is_not_there() {
    let (ok, table) = doctor(&unique("it-no-such-stack"), &[]);
    assert!(!ok, "{table}");
    assert!(
        table.contains("DescribeStacks") && table.contains("sam deploy"),
        "{table}"
    );
}
