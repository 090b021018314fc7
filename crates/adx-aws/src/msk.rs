//! The MSK control plane: a cluster's state and its topics (for `adx doctor`), and its bootstrap
//! brokers (for `adx produce` and `adx consume` given a cluster ARN).

use crate::error::describe;
use crate::{AwsContext, AwsError};

/// The state of cluster `arn` (`ACTIVE`, `CREATING`, ...).
pub fn cluster_state(context: &AwsContext, arn: &str) -> Result<String, AwsError> {
    let request = context.kafka().describe_cluster_v2().cluster_arn(arn);
    let output = context
        .block_on(request.send())
        .map_err(|e| AwsError::Call {
            operation: "DescribeClusterV2",
            target: arn.to_string(),
            message: describe(&e),
        })?;
    Ok(output
        .cluster_info()
        .and_then(|c| c.state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into()))
}

/// The names of every topic of cluster `arn`, following pagination.
pub fn topic_names(context: &AwsContext, arn: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = context
            .kafka()
            .list_topics()
            .cluster_arn(arn)
            .set_next_token(token.take());
        let output = context
            .block_on(request.send())
            .map_err(|e| AwsError::Call {
                operation: "ListTopics",
                target: arn.to_string(),
                message: describe(&e),
            })?;
        names.extend(
            output
                .topics()
                .iter()
                .filter_map(|t| t.topic_name().map(str::to_string)),
        );
        match output.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(names),
        }
    }
}

/// The brokers of an MSK cluster a client can reach, by how it authenticates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootstrapBrokers {
    /// IAM access control (SASL/OAUTHBEARER over TLS, port 9098).
    pub sasl_iam: Option<String>,
    /// Plaintext (port 9092), if the cluster allows it.
    pub plaintext: Option<String>,
}

/// The bootstrap brokers of cluster `arn` (GetBootstrapBrokers).
pub fn bootstrap_brokers(context: &AwsContext, arn: &str) -> Result<BootstrapBrokers, AwsError> {
    let request = context.kafka().get_bootstrap_brokers().cluster_arn(arn);
    let output = context
        .block_on(request.send())
        .map_err(|e| AwsError::Call {
            operation: "GetBootstrapBrokers",
            target: arn.to_string(),
            message: describe(&e),
        })?;
    let present = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    Ok(BootstrapBrokers {
        sasl_iam: present(output.bootstrap_broker_string_sasl_iam()),
        plaintext: present(output.bootstrap_broker_string()),
    })
}
