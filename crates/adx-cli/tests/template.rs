//! The SAM template against the code and the schemas: every variable the functions read is set
//! (and none of the workstation-only ones), every dataset has its S3 trigger prefix, no dataset
//! has a table declared in the template (the Iceberg tables come from the code: `adx tables
//! sync` and the committer), the committer runs alone on its schedule with its variables, and
//! no IAM statement grants `*` actions or an unexplained `*` resource.

mod common;

use adx_core::{Dataset, RegisteredSchema};
use adx_handlers::config::{LOCAL_ONLY_VARIABLES, variables_read};
use common::schema_dir;
use std::collections::BTreeSet;
use yaml_rust2::{Yaml, YamlLoader};

fn template_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .expect("template.yaml at the repository root")
}

fn template() -> Yaml {
    let mut docs = YamlLoader::load_from_str(&template_text()).expect("template.yaml is YAML");
    docs.remove(0)
}

fn datasets() -> Vec<Dataset> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("avsc") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        out.push(
            Dataset::from_registered(&RegisteredSchema {
                name,
                version_id: String::new(),
                version_number: 1,
                data_format: "AVRO".into(),
                definition: std::fs::read_to_string(&path).unwrap(),
            })
            .unwrap(),
        );
    }
    assert_eq!(out.len(), 3);
    out
}

fn resources(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .expect("Resources")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
        .collect()
}

/// The committer's own variables, set on its function only (not in Globals).
const COMMITTER_VARIABLES: [&str; 3] = [
    "TABLE_DATABASE",
    "TABLE_OPTIMIZER_ROLE_ARN",
    "PENDING_SETTLE_SECONDS",
];

/// The names of a variables map (`Environment.Variables`), none when it is absent.
fn variable_names(variables: &Yaml) -> BTreeSet<String> {
    variables
        .as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_string))
        .collect()
}

/// What `!Ref X` (or `{Ref: X}`) names; yaml-rust2 reads a `!Ref X` scalar as the string `X`.
fn ref_name(value: &Yaml) -> Option<&str> {
    value.as_str().or_else(|| value["Ref"].as_str())
}

/// The function built from the binary `binary`.
fn function<'a>(resources: &'a [(String, &'a Yaml)], binary: &str) -> &'a Yaml {
    resources
        .iter()
        .find(|(_, r)| {
            r["Type"].as_str() == Some("AWS::Serverless::Function")
                && r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary)
        })
        .unwrap_or_else(|| panic!("no function built from the binary {binary}"))
        .1
}

#[test]
fn every_variable_the_code_reads_is_set_and_no_local_one() {
    let template = template();
    let globals = variable_names(&template["Globals"]["Function"]["Environment"]["Variables"]);
    assert!(
        !globals.is_empty(),
        "Globals.Function.Environment.Variables"
    );
    // Per function, the variables set on it alone (the committer's).
    let resources = resources(&template);
    let mut own = BTreeSet::new();
    for (name, resource) in &resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        for variable in variable_names(&resource["Properties"]["Environment"]["Variables"]) {
            assert!(
                !globals.contains(&variable),
                "{name}: {variable} is set in Globals already"
            );
            own.insert(variable);
        }
    }
    let read = variables_read();
    assert!(read.len() > 10, "{read:?}");
    for name in &read {
        if LOCAL_ONLY_VARIABLES.contains(&name.as_str()) {
            assert!(
                !globals.contains(name) && !own.contains(name),
                "{name} must not be set in Lambda"
            );
        } else {
            assert!(
                globals.contains(name) || own.contains(name),
                "{name} is read by the code but not set in template.yaml"
            );
        }
    }
    for name in &globals {
        assert!(
            read.contains(name),
            "{name} is set in template.yaml but the code never reads it"
        );
    }
    for name in &own {
        assert!(
            read.contains(name) || COMMITTER_VARIABLES.contains(&name.as_str()),
            "{name} is set on a function in template.yaml but the code never reads it"
        );
    }
}

#[test]
fn every_dataset_has_its_trigger_and_its_table_comes_from_the_code() {
    let template = template();
    let resources = resources(&template);
    // One trigger for the whole landing bucket, with no key filter: the code routes by the
    // key's first segment, so every dataset of `schemas/`, and any added later, is covered.
    let triggers: Vec<&Yaml> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .flat_map(|(_, r)| r["Properties"]["Events"].as_hash().into_iter().flatten())
        .filter(|(_, e)| e["Type"].as_str() == Some("S3"))
        .map(|(_, e)| &e["Properties"])
        .collect();
    assert_eq!(triggers.len(), 1, "one S3 trigger");
    assert_eq!(triggers[0]["Bucket"].as_str(), Some("LandingBucket"));
    assert!(
        triggers[0]["Filter"].is_badvalue(),
        "no key filter: a dataset added to schemas/ needs no template edit"
    );
    for dataset in datasets() {
        // The Iceberg tables' column ids must be the Parquet field ids of the files, which only
        // the code (`adx tables sync`, the committer) guarantees: no table in the template.
        if let Some((name, _)) = resources.iter().find(|(_, r)| {
            r["Type"].as_str() == Some("AWS::Glue::Table")
                && r["Properties"]["TableInput"]["Name"].as_str() == Some(&dataset.name)
        }) {
            panic!(
                "{name} declares the table {}: the tables come from `adx tables sync` and the \
                 committer",
                dataset.name
            );
        }
    }
}

#[test]
fn the_committer_runs_alone_on_its_schedule_with_its_variables() {
    let template = template();
    assert!(
        template["Parameters"]["TableCommitSchedule"]["Default"]
            .as_str()
            .is_some(),
        "a TableCommitSchedule parameter with a default"
    );
    let resources = resources(&template);
    let committer = function(&resources, "table-commit");
    assert_eq!(
        committer["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    let properties = &committer["Properties"];
    assert_eq!(properties["CodeUri"].as_str(), Some("."));
    assert_eq!(
        properties["ReservedConcurrentExecutions"].as_i64(),
        Some(1),
        "one committer at a time"
    );
    assert_eq!(
        properties["EventInvokeConfig"]["MaximumRetryAttempts"].as_i64(),
        Some(0),
        "the next scheduled run retries"
    );
    let schedules: Vec<&str> = properties["Events"]
        .as_hash()
        .expect("the committer's Events")
        .values()
        .filter_map(|e| match e["Type"].as_str() {
            Some("Schedule") => ref_name(&e["Properties"]["Schedule"]),
            Some("ScheduleV2") => ref_name(&e["Properties"]["ScheduleExpression"]),
            _ => None,
        })
        .collect();
    assert_eq!(schedules, ["TableCommitSchedule"], "its schedule event");
    let variables = &properties["Environment"]["Variables"];
    // The committer reads them in adx-tables (CommitterSettings::from_env).
    let settings = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../adx-tables/src/aws.rs"
    ))
    .unwrap();
    for name in COMMITTER_VARIABLES {
        assert!(
            !variables[name].is_badvalue(),
            "the committer's {name} is not set"
        );
        assert!(
            settings.contains(&format!("\"{name}\"")),
            "the committer never reads {name}"
        );
    }
    assert_eq!(
        ref_name(&variables["TABLE_DATABASE"]),
        Some("CuratedDatabase")
    );
}

#[test]
fn iam_grants_no_star_action_and_explains_every_star_resource() {
    let template = template();
    let mut statements = 0;
    for (name, resource) in resources(&template) {
        if resource["Type"].as_str() != Some("AWS::IAM::Role") {
            continue;
        }
        for policy in resource["Properties"]["Policies"]
            .as_vec()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_vec()
                .into_iter()
                .flatten()
            {
                statements += 1;
                let actions: Vec<&str> = match &statement["Action"] {
                    Yaml::String(a) => vec![a.as_str()],
                    Yaml::Array(list) => list.iter().filter_map(Yaml::as_str).collect(),
                    other => panic!("{name}: action {other:?}"),
                };
                for action in actions {
                    assert!(
                        !action.contains('*'),
                        "{name}: the action {action} is a wildcard"
                    );
                }
            }
        }
    }
    assert!(statements >= 10, "{statements} statements");

    // Each `Resource: "*"` sits in a statement introduced by a comment saying why.
    let text = template_text();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != "Resource: \"*\"" {
            continue;
        }
        let sid = (0..i)
            .rev()
            .find(|&j| lines[j].trim_start().starts_with("- Sid:"))
            .expect("a statement");
        assert!(
            lines[sid - 1].trim_start().starts_with('#'),
            "line {}: a `*` resource without a comment saying why: {}",
            i + 1,
            lines[sid]
        );
    }
}

#[test]
fn alarms_reach_their_topic_under_a_key_cloudwatch_may_use_and_say_when_they_clear() {
    let template = template();
    let resources = resources(&template);
    let topic = &template["Resources"]["AlarmTopic"]["Properties"];
    // Not the AWS-managed alias/aws/sns: CloudWatch cannot publish to a topic under it.
    // (The YAML reader drops the `!Ref` tag: a reference reads as the name it refers to.)
    let key_name = topic["KmsMasterKeyId"]
        .as_str()
        .expect("the topic's key is a key of the stack");
    let key = &template["Resources"][key_name];
    assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"));
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_vec()
        .expect("a key policy");
    let cloudwatch = statements
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com"))
        .expect("a statement for CloudWatch");
    let actions: Vec<&str> = cloudwatch["Action"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(actions.contains(&"kms:GenerateDataKey*") && actions.contains(&"kms:Decrypt"));
    let mut alarms = 0;
    for (name, resource) in &resources {
        if resource["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        alarms += 1;
        let props = &resource["Properties"];
        assert_eq!(
            props["AlarmActions"], props["OKActions"],
            "{name}: an alarm says when it clears, to the same topic"
        );
        assert_eq!(
            props["AlarmActions"][0].as_str(),
            Some("AlarmTopic"),
            "{name}"
        );
    }
    assert!(alarms >= 10, "{alarms} alarms");
}

/// The event source mappings of the stream function, one per topic slot.
fn mappings(template: &Yaml) -> Vec<(String, &Yaml)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Lambda::EventSourceMapping"))
        .collect()
}

#[test]
fn a_failing_msk_batch_is_kept_whole_in_s3_after_deliberate_retries() {
    let template = template();
    let mappings = mappings(&template);
    assert_eq!(mappings.len(), 8, "one mapping per topic slot");
    for (name, mapping) in mappings {
        let msk = &mapping["Properties"];
        // An S3 destination receives the whole invocation record; SQS would get metadata only.
        let destination = msk["DestinationConfig"]["OnFailure"]["Destination"]
            .as_str()
            .expect("!GetAtt <bucket>.Arn");
        let bucket = destination.split('.').next().unwrap();
        let bucket = &template["Resources"][bucket];
        assert_eq!(bucket["Type"].as_str(), Some("AWS::S3::Bucket"), "{name}");
        assert_eq!(bucket["DeletionPolicy"].as_str(), Some("Retain"));
        assert!(
            !bucket["Properties"]["BucketEncryption"].is_badvalue(),
            "the failed batches are encrypted"
        );
        assert_eq!(
            bucket["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"]
                ["EventBridgeEnabled"]
                .as_bool(),
            Some(true),
            "each failed batch raises an alarm through EventBridge"
        );
        for (property, parameter) in [
            ("MaximumRetryAttempts", "MskMaximumRetryAttempts"),
            ("MaximumRecordAgeInSeconds", "MskMaximumRecordAgeSeconds"),
            ("BisectBatchOnFunctionError", "MskBisectBatchOnError"),
            ("StartingPosition", "MskStartingPosition"),
            ("BatchSize", "MskBatchSize"),
            ("MaximumBatchingWindowInSeconds", "MskBatchingWindowSeconds"),
            ("EventSourceArn", "MskClusterArn"),
            ("FunctionName", "StreamIngestFunction"),
        ] {
            assert_eq!(msk[property].as_str(), Some(parameter), "{name} {property}");
        }
        assert_eq!(
            msk["ProvisionedPollerConfig"]["MinimumPollers"].as_str(),
            Some("MskMinimumPollers")
        );
        let metrics: Vec<&str> = msk["MetricsConfig"]["Metrics"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(metrics, ["EventCount", "ErrorCount", "KafkaMetrics"]);
    }
}

#[test]
fn each_topic_has_a_mapping_of_its_own_with_a_group_of_its_own() {
    // Lambda's MSK mapping takes exactly one topic (the API's Topics list has one item), and a
    // consumer group id must be unique among the Kafka mappings.
    let template = template();
    let mappings = mappings(&template);
    for (i, (name, mapping)) in mappings.iter().enumerate() {
        assert_eq!(name, &format!("StreamIngestMapping{i}"));
        let condition = format!("HasTopic{i}");
        assert_eq!(mapping["Condition"].as_str(), Some(condition.as_str()));
        assert!(
            !template["Conditions"][condition.as_str()].is_badvalue(),
            "{condition}"
        );
        let topics = mapping["Properties"]["Topics"].as_vec().expect("Topics");
        assert_eq!(topics.len(), 1, "{name}: exactly one topic");
        assert_eq!(
            topics[0][0].as_i64(),
            Some(i as i64),
            "{name} reads slot {i}"
        );
        let group =
            &mapping["Properties"]["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"];
        assert_eq!(group[0].as_str(), Some("${MskConsumerGroupId}-${Topic}"));
        assert_eq!(group[1]["Topic"][0].as_i64(), Some(i as i64));
    }
    // The role may use each mapping's group, and no other.
    let statements = template["Resources"]["StreamIngestRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_vec()
        .unwrap();
    let groups = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("KafkaGroup"))
        .expect("the group statement");
    let slots = groups["Resource"]
        .as_vec()
        .expect("one group per topic slot");
    assert_eq!(slots.len(), mappings.len());
    for (i, slot) in slots.iter().enumerate() {
        assert!(
            slot[0]
                .as_str()
                .unwrap()
                .ends_with("group/${Cluster}/${MskConsumerGroupId}-${Topic}")
        );
        assert_eq!(slot[1]["Topic"][0].as_i64(), Some(i as i64));
    }
    // The function itself has no SAM MSK event (it would take the whole list as Topics).
    assert!(
        template["Resources"]["StreamIngestFunction"]["Properties"]["Events"].is_badvalue(),
        "the stream function declares events of its own"
    );
}

#[test]
fn every_stateful_resource_says_what_happens_to_it_when_the_stack_goes() {
    let template = template();
    let stateful = [
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::Logs::LogGroup",
        "AWS::Glue::Registry",
        "AWS::Glue::Database",
        "AWS::KMS::Key",
    ];
    let mut seen = 0;
    for (name, resource) in resources(&template) {
        let Some(kind) = resource["Type"].as_str() else {
            continue;
        };
        if !stateful.contains(&kind) {
            continue;
        }
        seen += 1;
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            assert!(
                matches!(
                    resource[policy].as_str(),
                    Some("Retain" | "Delete" | "Snapshot")
                ),
                "{name} ({kind}) has no {policy}"
            );
        }
        // What is kept must not block the next deployment: its name takes the suffix.
        if kind == "AWS::S3::Bucket" && resource["DeletionPolicy"].as_str() == Some("Retain") {
            let bucket = resource["Properties"]["BucketName"].as_str().unwrap_or("");
            assert!(bucket.ends_with("${NameSuffix}"), "{name}: {bucket}");
        }
    }
    assert!(seen >= 10, "{seen} stateful resources");
}

#[test]
fn every_function_warns_before_its_timeout_and_staleness_raises_an_alarm() {
    let template = template();
    let resources = resources(&template);
    for (name, function) in &resources {
        if function["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let timeout_ms = function["Properties"]["Timeout"]
            .as_i64()
            .expect("a timeout")
            * 1000;
        let alarm = resources
            .iter()
            .find(|(_, r)| {
                r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                    && r["Properties"]["MetricName"].as_str() == Some("Duration")
                    && r["Properties"]["Dimensions"][0]["Value"].as_str() == Some(name.as_str())
            })
            .unwrap_or_else(|| panic!("{name}: no duration alarm"));
        let threshold = alarm.1["Properties"]["Threshold"].as_i64().unwrap();
        assert!(
            threshold < timeout_ms && threshold >= timeout_ms / 2,
            "{name}: alarm at {threshold} ms of a {timeout_ms} ms timeout"
        );
    }
    for freshness in [
        "FileIngestFreshnessAlarm",
        "StreamIngestFreshnessAlarm",
        "TablesFreshnessAlarm",
    ] {
        let alarm = &template["Resources"][freshness]["Properties"];
        assert_eq!(
            alarm["EvaluationPeriods"].as_str(),
            Some("FreshnessMinutes"),
            "{freshness}"
        );
        assert!(
            alarm["Metrics"].as_vec().is_some_and(|m| m.len() >= 3),
            "{freshness}"
        );
    }
}

#[test]
fn the_stream_function_reads_only_the_topics_it_is_given() {
    let text = template_text();
    // No wildcard over the cluster's topics anywhere.
    assert!(
        !text.contains("topic/${Cluster}/*"),
        "a wildcard over every topic of the cluster"
    );
    // `sam build` 1.170 cannot read a template with Fn::ForEach.
    assert!(
        !text.contains("Fn::ForEach::"),
        "sam build breaks on Fn::ForEach"
    );
    let template = template();
    let statements = template["Resources"]["StreamIngestRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_vec()
        .unwrap();
    let topics = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("KafkaTopics"))
        .expect("the topics statement");
    let slots = topics["Resource"].as_vec().expect("one ARN per topic slot");
    for (i, slot) in slots.iter().enumerate() {
        let arn = slot[0].as_str().unwrap();
        assert!(arn.ends_with("topic/${Cluster}/${Topic}"), "{arn}");
        let select = &slot[1]["Topic"];
        assert_eq!(
            select[0].as_i64(),
            Some(i as i64),
            "slot {i} reads topic {i}"
        );
    }
    let defaults = template["Parameters"]["MskTopics"]["Default"]
        .as_str()
        .unwrap()
        .split(',')
        .count();
    assert!(
        defaults <= slots.len(),
        "{defaults} topics, {} slots",
        slots.len()
    );
    assert_eq!(slots.len(), 8);
}

#[test]
fn the_quarantine_table_reads_every_field_of_an_entry_and_every_dataset() {
    let template = template();
    let table = &template["Resources"]["QuarantineTable"]["Properties"]["TableInput"];
    let columns: Vec<(String, String)> = table["StorageDescriptor"]["Columns"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Name"].as_str().unwrap().to_string(),
                c["Type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let type_of = |name: &str| {
        columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    // Every member of every entry the core writes (the checked-in quarantine fixtures).
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../adx-core/tests/fixtures/quarantine"
    );
    let mut entries = 0;
    for file in std::fs::read_dir(fixtures).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| l.starts_with('{')) {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            entries += 1;
            for (key, value) in entry.as_object().unwrap() {
                if key == "dataset" {
                    continue; // a partition column
                }
                let declared = type_of(key);
                if let Some(members) = value.as_object() {
                    for member in members.keys() {
                        assert!(
                            declared.contains(&format!("{member}:")),
                            "{key}.{member} is not in the table's {key} column: {declared}"
                        );
                    }
                }
            }
        }
    }
    assert!(entries > 50, "{entries} entries");
    // Its partitions: the datasets of schemas/, and the unrouted.
    let mut want: Vec<String> = datasets().into_iter().map(|d| d.name).collect();
    want.push("_unrouted".into());
    want.sort();
    let mut listed: Vec<String> = template["Parameters"]["QuarantineDatasets"]["Default"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(
        listed, want,
        "QuarantineDatasets and schemas/ disagree: add the dataset"
    );
    assert_eq!(
        table["Parameters"]["projection.dt.range"].as_str(),
        Some("2000-01-01,NOW")
    );
}

#[test]
fn the_stack_outputs_name_everything_adx_doctor_stack_reads() {
    let template = template();
    let outputs = template["Outputs"].as_hash().expect("Outputs");
    let keys: BTreeSet<&str> = outputs.keys().filter_map(Yaml::as_str).collect();
    for key in adx_aws::stack::output::ALL {
        assert!(
            keys.contains(key),
            "no output {key}: `adx doctor --stack` reads it"
        );
    }
    // The function and topic outputs name the resources the wiring checks look at.
    for (key, resource) in [
        ("FileIngestFunctionName", "FileIngestFunction"),
        ("StreamIngestFunctionName", "StreamIngestFunction"),
        ("AlarmTopicArn", "AlarmTopic"),
        ("LandingBucketName", "LandingBucket"),
    ] {
        let value = &template["Outputs"][key]["Value"];
        assert_eq!(value.as_str(), Some(resource), "{key}");
        assert!(
            resources(&template)
                .iter()
                .any(|(name, _)| name == resource),
            "{resource}"
        );
    }
}

#[test]
fn the_dashboard_shows_the_quarantine_share_of_every_dataset() {
    // The EMF line of each dataset and invocation carries `Dataset`, `Received` and
    // `Quarantined` at its top level (adx_handlers::observe): a Logs Insights table over both
    // functions' log groups gives the share of every dataset, a new one included, with no list
    // of datasets to keep in the template.
    let template = template();
    let body = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let text = body[0]
        .as_str()
        .expect("the dashboard body is a !Sub [text, variables]");
    let dashboard: serde_json::Value =
        serde_json::from_str(&text.replace("${AWS::Region}", "eu-west-1")).expect("JSON body");
    let widgets = dashboard["widgets"].as_array().expect("widgets");
    let share = widgets
        .iter()
        .find(|w| {
            w["type"] == "log"
                && w["properties"]["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("Quarantine share per dataset"))
        })
        .expect("a quarantine share widget");
    let query = share["properties"]["query"].as_str().expect("a query");
    for part in [
        "SOURCE '${FileLogs}'",
        "SOURCE '${StreamLogs}'",
        "sum(Quarantined)",
        "sum(Received)",
        "by Dataset",
    ] {
        assert!(query.contains(part), "{part} missing from {query}");
    }
    assert_eq!(body[1]["FileLogs"].as_str(), Some("FileIngestLogGroup"));
    assert_eq!(body[1]["StreamLogs"].as_str(), Some("StreamIngestLogGroup"));
    // The fields the query reads are those the functions write.
    let documents = adx_handlers::observe::emf_documents(
        "f",
        &{
            let mut report = adx_core::InvocationReport::default();
            report
                .datasets
                .insert("ad_impressions".into(), Default::default());
            report
        },
        0,
        1.0,
        "INFO",
    );
    for field in ["Dataset", "Received", "Quarantined"] {
        assert!(
            documents[0].get(field).is_some(),
            "the EMF line has no {field}"
        );
    }
}

#[test]
fn no_output_is_named_as_a_list_parameter() {
    // SAM's intrinsic resolver resolves an output's name that equals a parameter's to that
    // parameter's value: for a list, `sam build` fails with "unhashable type: 'list'".
    let template = template();
    let parameters = template["Parameters"].as_hash().expect("Parameters");
    let outputs = template["Outputs"].as_hash().expect("Outputs");
    for (name, parameter) in parameters {
        let kind = parameter["Type"].as_str().unwrap_or_default();
        if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            assert!(
                !outputs.contains_key(name),
                "output {name:?} is named as a list parameter"
            );
        }
    }
}
