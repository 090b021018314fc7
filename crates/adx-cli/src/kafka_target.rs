//! Which Kafka `adx produce` and `adx consume` talk to: bootstrap servers given as they are
//! (plaintext, a local broker), or an MSK cluster ARN whose IAM brokers GetBootstrapBrokers
//! names (SASL/OAUTHBEARER over TLS, signed with the process's AWS credentials).

use adx_aws::{AwsContext, AwsSettings};
use adx_kafka::{Auth, Connection};
use clap::Args;

/// Where the brokers are.
#[derive(Args, Clone)]
pub struct KafkaTarget {
    /// Bootstrap servers, `host:port,...` (plaintext).
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", conflicts_with = "cluster_arn")]
    pub bootstrap_servers: Option<String>,
    /// An MSK cluster ARN: its IAM bootstrap brokers are looked up (GetBootstrapBrokers).
    #[arg(long, env = "MSK_CLUSTER_ARN")]
    pub cluster_arn: Option<String>,
}

impl KafkaTarget {
    /// The connection, and the event source ARN the events name.
    pub fn connect(&self) -> Result<(Connection, String), String> {
        match (&self.bootstrap_servers, &self.cluster_arn) {
            (Some(servers), _) => Ok((
                Connection::plaintext(servers.clone()),
                "arn:aws:kafka:us-east-1:000000000000:cluster/adx-local/00000000-0000-0000-0000-000000000000-1".into(),
            )),
            (None, Some(arn)) => {
                let region = arn.split(':').nth(3).unwrap_or_default().to_string();
                let settings = AwsSettings::from_env().map_err(|e| e.to_string())?;
                let context = AwsContext::load(&settings).map_err(|e| e.to_string())?;
                let brokers =
                    adx_aws::msk::bootstrap_brokers(&context, arn).map_err(|e| e.to_string())?;
                let servers = brokers.sasl_iam.ok_or_else(|| {
                    format!("cluster {arn} has no IAM brokers: turn on IAM access control")
                })?;
                Ok((
                    Connection {
                        bootstrap_servers: servers,
                        auth: Auth::MskIam { region },
                    },
                    arn.clone(),
                ))
            }
            (None, None) => {
                Err("give --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) or --cluster-arn".into())
            }
        }
    }
}
