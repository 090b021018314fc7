//! The SAM template against the code and the schemas: every variable the functions read is set
//! (and none of the workstation-only ones), every dataset has its S3 trigger prefix and a Glue
//! table whose columns are those of its curated Parquet, and no IAM statement grants `*`
//! actions or an unexplained `*` resource.

mod common;

use adx_core::table_columns;
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

#[test]
fn every_variable_the_code_reads_is_set_and_no_local_one() {
    let template = template();
    let variables: BTreeSet<String> = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_hash()
        .expect("Globals.Function.Environment.Variables")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let read = variables_read();
    assert!(read.len() > 10, "{read:?}");
    for name in &read {
        if LOCAL_ONLY_VARIABLES.contains(&name.as_str()) {
            assert!(
                !variables.contains(name),
                "{name} must not be set in Lambda"
            );
        } else {
            assert!(
                variables.contains(name),
                "{name} is read by the code but not set in template.yaml"
            );
        }
    }
    for name in &variables {
        assert!(
            read.contains(name),
            "{name} is set in template.yaml but the code never reads it"
        );
    }
}

#[test]
fn every_dataset_has_its_trigger_and_a_table_with_the_curated_columns() {
    let template = template();
    let resources = resources(&template);
    let prefixes: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .flat_map(|(_, r)| r["Properties"]["Events"].as_hash().into_iter().flatten())
        .filter(|(_, e)| e["Type"].as_str() == Some("S3"))
        .filter_map(|(_, e)| {
            e["Properties"]["Filter"]["S3Key"]["Rules"][0]["Value"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    for dataset in datasets() {
        assert!(
            prefixes.contains(&format!("{}/", dataset.name)),
            "no S3 trigger for {}/: {prefixes:?}",
            dataset.name
        );
        let table = resources
            .iter()
            .find(|(_, r)| {
                r["Type"].as_str() == Some("AWS::Glue::Table")
                    && r["Properties"]["TableInput"]["Name"].as_str() == Some(&dataset.name)
            })
            .unwrap_or_else(|| panic!("no Glue table for {}", dataset.name))
            .1;
        let input = &table["Properties"]["TableInput"];
        let columns: Vec<(String, String)> = input["StorageDescriptor"]["Columns"]
            .as_vec()
            .expect("Columns")
            .iter()
            .map(|c| {
                (
                    c["Name"].as_str().unwrap_or_default().to_string(),
                    c["Type"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            columns,
            table_columns(&dataset.shape),
            "{}: the table's columns differ from the schema's (adx schemas columns prints them)",
            dataset.name
        );
        let keys: Vec<&str> = input["PartitionKeys"]
            .as_vec()
            .expect("PartitionKeys")
            .iter()
            .filter_map(|k| k["Name"].as_str())
            .collect();
        assert_eq!(keys, ["dt", "hr"]);
        assert_eq!(
            input["Parameters"]["projection.enabled"].as_str(),
            Some("true")
        );
    }
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
