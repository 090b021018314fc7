//! Routing of Kafka values: how a value is framed (a plain value of its topic's dataset, or a
//! datum of a registered writer schema version, Glue-framed or already unframed by the event
//! source mapping), which dataset it goes to, and its decoding. What the registry and the
//! catalog answer is remembered for the batch.

use super::StreamConfig;
use crate::catalog::WriterSchema;
use crate::convert::seed::SeedContext;
use crate::error::{IngestError, RecordError, RecordErrorKind};
use crate::formats::avro_datum::decode_datum;
use crate::formats::avro_direct::DirectPlan;
use crate::formats::glue::{Framing, inflate, parse_framing, uuid_text};
use crate::formats::json::decode_one;
use crate::kafka_record::StreamRecord;
use crate::model::dataset::Dataset;
use crate::model::datum::Datum;
use crate::model::shape::Ty;
use crate::pipeline::Ports;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a value goes and what it decoded to.
pub(crate) struct Routed<'v> {
    /// The dataset, when one could be named.
    pub(crate) dataset: Option<Arc<Dataset>>,
    /// The record, or why it does not decode.
    pub(crate) outcome: Result<Datum<'v>, RecordError>,
}

/// How a value is framed, once its header (or the event source mapping's metadata) is read.
enum Framed<'v> {
    /// The framing cannot be read (Confluent framing, a truncated header, ...).
    Broken(RecordError),
    /// No registry framing: a value of its topic's dataset, in JSON.
    Plain(&'v [u8]),
    /// A datum of a registered writer schema version.
    Registered {
        /// The version, as the registry knows it.
        version: Version,
        /// How the datum is encoded.
        encoding: Encoding,
        /// The datum.
        datum: &'v [u8],
    },
}

/// How a registered value's datum is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// An Avro datum.
    Avro,
    /// A zlib-compressed Avro datum (Glue compression byte 5).
    ZlibAvro,
    /// JSON (the event source mapping turned the value into JSON).
    Json,
    /// A data format that the registry integration names and the core does not read.
    Other,
}

/// A writer schema version id and what it leads to.
#[derive(Clone)]
struct Version {
    /// The id as text (for messages).
    id: String,
    /// Its route; `None` when the registry does not know the id.
    route: Option<Arc<VersionRoute>>,
}

/// Where values of one writer schema version go, and how they decode.
struct VersionRoute {
    /// The schema's name.
    name: String,
    /// Its dataset at the latest version.
    dataset: Option<Arc<Dataset>>,
    /// The parsed writer schema, or why it cannot be used.
    writer: Result<Arc<WriterSchema>, RecordError>,
    /// The fast reading of its datums, when the writer has the dataset's shape exactly.
    direct: Option<DirectPlan>,
}

impl VersionRoute {
    /// Decodes an Avro datum of this version: the direct plan, else the general decoder.
    fn decode<'d>(
        &self,
        writer: &WriterSchema,
        datum: &'d [u8],
        ty: &Ty,
        context: &SeedContext<'static>,
    ) -> Result<Datum<'d>, RecordError> {
        match self.direct.as_ref().and_then(|plan| plan.decode(datum)) {
            Some(record) => Ok(record),
            None => decode_datum(datum, &writer.decoder, ty, context),
        }
    }
}

/// Routes and decodes Kafka values, remembering topics and schema versions for one batch.
pub(crate) struct Router<'a> {
    ports: Ports<'a>,
    config: &'a StreamConfig,
    by_topic: HashMap<String, Option<Arc<Dataset>>>,
    by_version: HashMap<String, Option<Arc<VersionRoute>>>,
    /// The last topic looked up (by its shared text), and its dataset.
    last_topic: Option<(Arc<str>, Option<Arc<Dataset>>)>,
    /// The last Glue version id looked up, and what it leads to.
    last_version: Option<([u8; 16], Version)>,
    /// Decoding contexts kept for the batch, as a file keeps one for the object: each learns
    /// the order in which records give their fields, so that a key costs one comparison.
    json: SeedContext<'static>,
    avro: SeedContext<'static>,
}

impl<'a> Router<'a> {
    /// A router with nothing looked up yet.
    pub(crate) fn new(ports: Ports<'a>, config: &'a StreamConfig) -> Self {
        Router {
            ports,
            config,
            by_topic: HashMap::new(),
            by_version: HashMap::new(),
            last_topic: None,
            last_version: None,
            json: SeedContext::new(),
            avro: SeedContext::for_avro(),
        }
    }

    /// The dataset of a topic (named after it, or mapped by `TOPIC_DATASETS`), if any.
    pub(crate) fn topic_dataset(
        &mut self,
        topic: &Arc<str>,
    ) -> Result<Option<Arc<Dataset>>, IngestError> {
        // A batch's records share their topic's text: most lookups are the last one again.
        if let Some((last, ds)) = &self.last_topic
            && Arc::ptr_eq(last, topic)
        {
            return Ok(ds.clone());
        }
        let ds = match self.by_topic.get(topic.as_ref()) {
            Some(ds) => ds.clone(),
            None => {
                let name = self
                    .config
                    .topic_datasets
                    .get(topic.as_ref())
                    .map(String::as_str)
                    .unwrap_or(topic);
                let ds = self
                    .ports
                    .catalog
                    .route(self.ports.registry, name)?
                    .dataset();
                self.by_topic.insert(topic.to_string(), ds.clone());
                ds
            }
        };
        self.last_topic = Some((topic.clone(), ds.clone()));
        Ok(ds)
    }

    /// Routes a record that is refused: to its topic's dataset, with the error.
    fn refused(
        &mut self,
        topic: &Arc<str>,
        error: RecordError,
    ) -> Result<Routed<'static>, IngestError> {
        Ok(Routed {
            dataset: self.topic_dataset(topic)?,
            outcome: Err(error),
        })
    }

    /// Routes and decodes one value (framing, registry lookup, Avro or JSON).
    pub(crate) fn route<'v>(
        &mut self,
        record: &StreamRecord,
        value: &'v [u8],
    ) -> Result<Routed<'v>, IngestError> {
        match self.framing(record, value)? {
            Framed::Broken(error) => self.refused(&record.topic, error),
            Framed::Plain(bytes) => self.plain(record, bytes),
            Framed::Registered {
                version,
                encoding,
                datum,
            } => self.registered(record, version, encoding, datum),
        }
    }

    /// Reads how a value is framed: the event source mapping's metadata, else its header.
    fn framing<'v>(
        &mut self,
        record: &StreamRecord,
        value: &'v [u8],
    ) -> Result<Framed<'v>, IngestError> {
        if let Some(m) = &record.schema_metadata {
            let encoding = if m.data_format.eq_ignore_ascii_case("AVRO") {
                Encoding::Avro
            } else if m.data_format.eq_ignore_ascii_case("JSON") {
                Encoding::Json
            } else {
                Encoding::Other
            };
            let version = Version {
                id: m.schema_id.clone(),
                route: self.version_route(&m.schema_id)?,
            };
            return Ok(Framed::Registered {
                version,
                encoding,
                datum: value,
            });
        }
        Ok(match parse_framing(value) {
            Err(error) => Framed::Broken(error),
            Ok(Framing::Plain(bytes)) => Framed::Plain(bytes),
            Ok(Framing::Glue {
                version,
                zlib,
                datum,
            }) => Framed::Registered {
                version: self.glue_version(&version)?,
                encoding: if zlib {
                    Encoding::ZlibAvro
                } else {
                    Encoding::Avro
                },
                datum,
            },
        })
    }

    /// A plain value: JSON of the topic's dataset.
    fn plain<'v>(
        &mut self,
        record: &StreamRecord,
        bytes: &'v [u8],
    ) -> Result<Routed<'v>, IngestError> {
        let Some(dataset) = self.topic_dataset(&record.topic)? else {
            return Ok(Routed {
                dataset: None,
                outcome: Err(RecordError::new(
                    RecordErrorKind::Unrouted,
                    format!(
                        "topic `{}` names no registered dataset (map it with TOPIC_DATASETS)",
                        record.topic
                    ),
                )),
            });
        };
        let outcome = decode_one(bytes, &dataset.record_ty(), &self.json);
        Ok(Routed {
            dataset: Some(dataset),
            outcome,
        })
    }

    /// A datum of a registered writer schema version: to the version's dataset.
    fn registered<'v>(
        &mut self,
        record: &StreamRecord,
        version: Version,
        encoding: Encoding,
        datum: &'v [u8],
    ) -> Result<Routed<'v>, IngestError> {
        let Some(route) = version.route else {
            let error = RecordError::new(
                RecordErrorKind::Schema,
                format!("unknown schema version id {}", version.id),
            );
            return self.refused(&record.topic, error);
        };
        let Some(dataset) = route.dataset.clone() else {
            let error = RecordError::new(
                RecordErrorKind::Unrouted,
                format!(
                    "schema version {} belongs to `{}`, which has no dataset",
                    version.id, route.name
                ),
            );
            return self.refused(&record.topic, error);
        };
        let ty = dataset.record_ty();
        let outcome = match (encoding, &route.writer) {
            (Encoding::Json, _) => decode_one(datum, &ty, &self.json),
            (_, Err(e)) => Err(e.clone()),
            (Encoding::Avro, Ok(writer)) => route.decode(writer, datum, &ty, &self.avro),
            (Encoding::ZlibAvro, Ok(writer)) => inflate(datum, self.config.max_datum_bytes)
                .and_then(|d| {
                    route
                        .decode(writer, &d, &ty, &self.avro)
                        .map(Datum::into_owned)
                }),
            (Encoding::Other, Ok(_)) => Err(RecordError::new(
                RecordErrorKind::Schema,
                format!(
                    "unsupported data format {}",
                    record
                        .schema_metadata
                        .as_ref()
                        .map(|m| m.data_format.to_ascii_uppercase())
                        .unwrap_or_default()
                ),
            )),
        };
        Ok(Routed {
            dataset: Some(dataset),
            outcome,
        })
    }

    /// The version of a Glue header's id: the last one again, or looked up by its text.
    fn glue_version(&mut self, id: &[u8; 16]) -> Result<Version, IngestError> {
        if let Some((last, version)) = &self.last_version
            && last == id
        {
            return Ok(version.clone());
        }
        let text = uuid_text(id);
        let version = Version {
            route: self.version_route(&text)?,
            id: text,
        };
        self.last_version = Some((*id, version.clone()));
        Ok(version)
    }

    /// What a writer schema version id leads to, looked up once per batch.
    fn version_route(
        &mut self,
        version_id: &str,
    ) -> Result<Option<Arc<VersionRoute>>, IngestError> {
        if let Some(route) = self.by_version.get(version_id) {
            return Ok(route.clone());
        }
        let route = match self.ports.registry.by_version_id(version_id)? {
            None => None,
            Some(registered) => {
                let dataset = self
                    .ports
                    .catalog
                    .route(self.ports.registry, &registered.name)?
                    .dataset();
                let writer = self.writer_schema(version_id, &registered, dataset.as_deref());
                let direct = match (&writer, &dataset) {
                    (Ok(writer), Some(ds)) => DirectPlan::compile(&writer.avro, &ds.record_ty()),
                    _ => None,
                };
                Some(Arc::new(VersionRoute {
                    name: registered.name,
                    dataset,
                    writer,
                    direct,
                }))
            }
        };
        self.by_version
            .insert(version_id.to_string(), route.clone());
        Ok(route)
    }

    /// The writer schema of a registered version, or why its datums cannot be read as `dataset`.
    fn writer_schema(
        &self,
        version_id: &str,
        registered: &crate::ports::RegisteredSchema,
        dataset: Option<&Dataset>,
    ) -> Result<Arc<WriterSchema>, RecordError> {
        if !registered.data_format.eq_ignore_ascii_case("AVRO") {
            return Err(RecordError::new(
                RecordErrorKind::Schema,
                format!(
                    "schema version {version_id} is a {} schema, not Avro",
                    registered.data_format
                ),
            ));
        }
        let catalog = self.ports.catalog;
        let writer = catalog.writer(registered).map_err(|e| {
            RecordError::new(
                RecordErrorKind::IncompatibleSchema,
                format!("writer schema {version_id}: {e}"),
            )
        })?;
        if let Some(ds) = dataset {
            catalog.check_compatible(&writer, ds).map_err(|e| {
                RecordError::new(
                    RecordErrorKind::IncompatibleSchema,
                    format!(
                        "writer schema {version_id} cannot be resolved to the registered {} schema: {e}",
                        ds.name
                    ),
                )
            })?;
        }
        Ok(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka_record::SchemaMetadata;
    use crate::pipeline::IngestConfig;
    use crate::test_support::{MemoryStore, ingest_config, ports, version_id};
    use std::io::Write;

    fn config(ingest: IngestConfig) -> StreamConfig {
        StreamConfig {
            ingest,
            topic_datasets: [("imps".to_string(), "ad_impressions".to_string())].into(),
            max_datum_bytes: 1 << 20,
        }
    }

    fn record(topic: &str, meta: Option<(&str, &str)>) -> StreamRecord {
        StreamRecord {
            topic: topic.into(),
            partition: 0,
            offset: 7,
            timestamp_ms: 1_795_845_600_000,
            value: None,
            schema_metadata: meta.map(|(format, id)| SchemaMetadata {
                data_format: format.into(),
                schema_id: id.into(),
            }),
        }
    }

    const IMPRESSION: &str = r#"{"impression_id":"i-1","event_time":1795845500000,"campaign_id":"c","creative_id":"cr","site_domain":"a.example","ad_format":"BANNER","device_type":"MOBILE"}"#;

    /// The impression above as a bare Avro datum of the repo's schema.
    fn impression_datum() -> Vec<u8> {
        use apache_avro::types::Value as A;
        let schema = apache_avro::Schema::parse_str(
            &crate::test_support::registered("ad_impressions").definition,
        )
        .unwrap();
        let s = |t: &str| A::String(t.into());
        let null = || A::Union(0, Box::new(A::Null));
        let value = A::Record(vec![
            ("impression_id".into(), s("i-1")),
            ("event_time".into(), A::TimestampMillis(1_795_845_500_000)),
            ("request_id".into(), null()),
            ("user_id".into(), null()),
            ("campaign_id".into(), s("c")),
            ("creative_id".into(), s("cr")),
            ("site_domain".into(), s("a.example")),
            ("ad_format".into(), A::Enum(0, "BANNER".into())),
            ("device_type".into(), A::Enum(1, "MOBILE".into())),
            ("country".into(), null()),
            ("win_price_micros".into(), null()),
            ("currency".into(), null()),
        ]);
        apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
            .build()
            .unwrap()
            .write_value_to_vec(value)
            .unwrap()
    }

    /// A Glue header (version 3, compression byte) for `version_id`, then `body`.
    fn glue(version_id: &str, zlib: bool, body: &[u8]) -> Vec<u8> {
        let hex: String = version_id.chars().filter(|c| *c != '-').collect();
        let mut out = vec![3u8, if zlib { 5 } else { 0 }];
        for i in 0..16 {
            out.push(u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap());
        }
        if zlib {
            let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
            z.write_all(body).unwrap();
            out = z.finish().unwrap();
        } else {
            out.extend_from_slice(body);
        }
        out
    }

    /// Routes `value` of `record`: the dataset's name and the outcome's error text.
    fn route(record: &StreamRecord, value: &[u8]) -> (Option<String>, Result<(), String>) {
        let store = MemoryStore::new();
        let catalog = crate::catalog::Catalog::new();
        let config = config(ingest_config());
        let mut router = Router::new(ports(&store, &catalog), &config);
        let routed = router.route(record, value).unwrap();
        (
            routed.dataset.map(|d| d.name.clone()),
            routed.outcome.map(|_| ()).map_err(|e| e.message),
        )
    }

    fn ok(dataset: &str) -> (Option<String>, Result<(), String>) {
        (Some(dataset.to_string()), Ok(()))
    }

    #[test]
    fn a_plain_value_is_json_of_its_topics_dataset() {
        let imps = record("ad_impressions", None);
        assert_eq!(route(&imps, IMPRESSION.as_bytes()), ok("ad_impressions"));
        // Mapped by TOPIC_DATASETS.
        assert_eq!(
            route(&record("imps", None), IMPRESSION.as_bytes()),
            ok("ad_impressions")
        );
        let (dataset, outcome) = route(&imps, b"{\"impression_id\":");
        assert_eq!(dataset.as_deref(), Some("ad_impressions"));
        assert!(outcome.is_err());
    }

    #[test]
    fn a_plain_value_of_an_unknown_topic_is_unrouted() {
        let (dataset, outcome) = route(&record("nowhere", None), IMPRESSION.as_bytes());
        assert_eq!(dataset, None);
        assert_eq!(
            outcome.unwrap_err(),
            "topic `nowhere` names no registered dataset (map it with TOPIC_DATASETS)"
        );
    }

    #[test]
    fn a_glue_framed_datum_goes_to_its_versions_dataset_plain_or_zlib() {
        let id = version_id("ad_impressions");
        let datum = impression_datum();
        // The topic does not matter: the version names the dataset.
        let other = record("nowhere", None);
        assert_eq!(
            route(&other, &glue(&id, false, &datum)),
            ok("ad_impressions")
        );
        assert_eq!(
            route(&other, &glue(&id, true, &datum)),
            ok("ad_impressions")
        );
        let (dataset, outcome) = route(&other, &glue(&id, true, b"not zlib"));
        assert_eq!(dataset.as_deref(), Some("ad_impressions"));
        assert!(outcome.is_err());
    }

    #[test]
    fn an_unknown_version_id_is_refused_for_the_topics_dataset() {
        let id = "00000000-0000-0000-0000-0000000000ff";
        let (dataset, outcome) = route(
            &record("ad_impressions", None),
            &glue(id, false, &impression_datum()),
        );
        assert_eq!(dataset.as_deref(), Some("ad_impressions"));
        assert_eq!(
            outcome.unwrap_err(),
            format!("unknown schema version id {id}")
        );
    }

    #[test]
    fn confluent_framing_is_refused_for_the_topics_dataset() {
        let (dataset, outcome) = route(&record("click_conversions", None), &[0, 0, 0, 0, 42, 1]);
        assert_eq!(dataset.as_deref(), Some("click_conversions"));
        assert!(outcome.unwrap_err().contains("Confluent"));
    }

    #[test]
    fn values_unframed_by_the_event_source_mapping_decode_by_their_data_format() {
        let id = version_id("ad_impressions");
        let avro = record("nowhere", Some(("avro", &id)));
        assert_eq!(route(&avro, &impression_datum()), ok("ad_impressions"));
        let json = record("nowhere", Some(("JSON", &id)));
        assert_eq!(route(&json, IMPRESSION.as_bytes()), ok("ad_impressions"));
        let other = record("nowhere", Some(("protobuf", &id)));
        assert_eq!(
            route(&other, b"x"),
            (
                Some("ad_impressions".to_string()),
                Err("unsupported data format PROTOBUF".to_string())
            )
        );
    }
}
