//! How the Kafka clients connect: bootstrap servers in plaintext (a local broker), or the IAM
//! brokers of an Amazon MSK cluster (SASL/OAUTHBEARER over TLS, with a token signed by the
//! process's AWS credentials through `aws-msk-iam-sasl-signer`).

use rdkafka::ClientConfig;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::consumer::ConsumerContext;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};

/// A failure of the Kafka side: connecting, creating topics, producing, consuming, committing.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// librdkafka said no.
    #[error("{operation}: {source}")]
    Client {
        /// What was being done.
        operation: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// Anything else, with its reason.
    #[error("{0}")]
    Other(String),
}

impl KafkaError {
    /// Wraps a client error with what was being done.
    pub fn client(operation: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        KafkaError::Client {
            operation: operation.into(),
            source,
        }
    }
}

/// How to authenticate to the brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No TLS, no authentication (a local broker).
    Plaintext,
    /// MSK IAM access control: SASL/OAUTHBEARER over TLS, tokens signed for this region.
    MskIam {
        /// The cluster's AWS region.
        region: String,
    },
}

/// Where the brokers are and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `host:port,host:port`.
    pub bootstrap_servers: String,
    /// Authentication.
    pub auth: Auth,
}

impl Connection {
    /// A plaintext connection to `bootstrap_servers`.
    pub fn plaintext(bootstrap_servers: impl Into<String>) -> Connection {
        Connection {
            bootstrap_servers: bootstrap_servers.into(),
            auth: Auth::Plaintext,
        }
    }

    /// The client configuration shared by producers, consumers and the admin client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        match &self.auth {
            Auth::Plaintext => {}
            Auth::MskIam { .. } => {
                config
                    .set("security.protocol", "SASL_SSL")
                    .set("sasl.mechanism", "OAUTHBEARER");
            }
        }
        config
    }

    /// The client context: IAM tokens when needed, delivery failures counted.
    pub fn context(&self) -> Result<AdxContext, KafkaError> {
        let iam = match &self.auth {
            Auth::Plaintext => None,
            Auth::MskIam { region } => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| KafkaError::Other(format!("starting the token runtime: {e}")))?;
                Some(IamSigner {
                    region: aws_config::Region::new(region.clone()),
                    runtime,
                })
            }
        };
        Ok(AdxContext {
            iam,
            delivery_failures: AtomicU64::new(0),
            last_failure: std::sync::Mutex::new(None),
        })
    }
}

/// Signs MSK IAM tokens with the process's AWS credentials.
pub struct IamSigner {
    region: aws_config::Region,
    runtime: tokio::runtime::Runtime,
}

/// The context of every client: IAM tokens, and the producer's delivery failures.
pub struct AdxContext {
    iam: Option<IamSigner>,
    delivery_failures: AtomicU64,
    last_failure: std::sync::Mutex<Option<String>>,
}

impl AdxContext {
    /// Messages the brokers did not take, and the last reason.
    pub fn delivery_failures(&self) -> (u64, Option<String>) {
        let last = self
            .last_failure
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        (self.delivery_failures.load(Ordering::Relaxed), last)
    }
}

impl ClientContext for AdxContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn Error>> {
        let Some(signer) = &self.iam else {
            return Err("no IAM authentication configured".into());
        };
        let (token, expiration_ms) =
            signer
                .runtime
                .block_on(aws_msk_iam_sasl_signer::generate_auth_token(
                    signer.region.clone(),
                ))?;
        Ok(OAuthToken {
            token,
            principal_name: String::new(),
            lifetime_ms: expiration_ms,
        })
    }
}

impl ConsumerContext for AdxContext {}

impl ProducerContext for AdxContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((e, _)) = result {
            self.delivery_failures.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_failure.lock() {
                *last = Some(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_brokers_use_sasl_oauthbearer_over_tls() {
        let plain = Connection::plaintext("127.0.0.1:9092").client_config();
        assert_eq!(plain.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        assert_eq!(plain.get("security.protocol"), None);
        let iam = Connection {
            bootstrap_servers: "b-1.x.kafka.us-east-1.amazonaws.com:9098".into(),
            auth: Auth::MskIam {
                region: "us-east-1".into(),
            },
        };
        let config = iam.client_config();
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("OAUTHBEARER"));
        assert!(iam.context().is_ok());
    }
}
