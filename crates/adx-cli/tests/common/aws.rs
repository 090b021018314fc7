//! Helpers of the emulator tests: LocalStack (S3) and moto (Glue) as `infra/local/start.sh`
//! runs them and `infra/local/env.sh` points the SDK at them. Each test makes its own buckets
//! and registry, so tests never see each other's objects.

use adx_aws::{AwsContext, AwsSettings};
use aws_sdk_s3::primitives::ByteStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why an emulator test cannot run, if it cannot.
pub fn require_emulators() {
    for name in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE"] {
        assert!(
            std::env::var(name).is_ok_and(|v| !v.is_empty()),
            "{name} is not set: the emulator tests need LocalStack and moto \
             (infra/local/start.sh, then `source infra/local/env.sh`; infra/test-all.sh does both)"
        );
    }
}

/// An AWS context on the emulators (endpoints and credentials from the environment).
pub fn context() -> AwsContext {
    require_emulators();
    AwsContext::load(&AwsSettings::from_env().unwrap()).unwrap()
}

/// A name no other test run uses: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One test's world: three buckets and a registry.
pub struct World {
    /// Landing bucket.
    pub landing: String,
    /// Curated bucket.
    pub curated: String,
    /// Quarantine bucket.
    pub quarantine: String,
    /// Glue registry name.
    pub registry: String,
}

impl World {
    /// Creates the buckets (the registry is created by `adx schemas push`).
    pub fn new(context: &AwsContext, tag: &str) -> World {
        let world = World {
            landing: unique(&format!("it-{tag}-landing")),
            curated: unique(&format!("it-{tag}-curated")),
            quarantine: unique(&format!("it-{tag}-quarantine")),
            registry: unique(&format!("it-{tag}")),
        };
        for bucket in [&world.landing, &world.curated, &world.quarantine] {
            create_bucket(context, bucket);
        }
        world
    }

    /// Runs `adx` against the emulators with this world's buckets and registry.
    pub fn adx(&self, args: &[&str]) -> Output {
        self.adx_with(args, &[])
    }

    /// Runs `adx` with extra environment.
    pub fn adx_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_adx"));
        command
            .args(args)
            .current_dir(repo_root())
            .env_remove("ADX_STORE_ROOT")
            .env_remove("ADX_SCHEMA_DIR")
            .env_remove("MAX_FUTURE_SKEW_SECONDS")
            .env("LANDING_BUCKET", &self.landing)
            .env("CURATED_BUCKET", &self.curated)
            .env("QUARANTINE_BUCKET", &self.quarantine)
            .env("REGISTRY_NAME", &self.registry);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("run adx")
    }

    /// `adx schemas push` of the repository's schemas into this world's registry.
    pub fn push_schemas(&self) -> String {
        let out = self.adx(&["schemas", "push"]);
        assert!(
            out.status.success(),
            "adx schemas push failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `adx invoke <function> --event <file>` and returns its JSON answer.
    pub fn invoke(&self, function: &str, event: &Path) -> serde_json::Value {
        let out = self.adx(&["invoke", function, "--event", event.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "adx invoke {function} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the answer is JSON")
    }
}

impl Drop for World {
    /// Deletes the registry (Glue, and moto, allow only a few registries per account); the
    /// buckets stay for a post-mortem and go with the emulator.
    fn drop(&mut self) {
        let context = context();
        let request = context.glue().delete_registry().registry_id(
            aws_sdk_glue::types::RegistryId::builder()
                .registry_name(&self.registry)
                .build(),
        );
        let _ = context.block_on(request.send());
    }
}

/// The repository root (where `schemas/` lies).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Creates a bucket.
pub fn create_bucket(context: &AwsContext, bucket: &str) {
    context
        .block_on(context.s3().create_bucket().bucket(bucket).send())
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

/// Puts an object and returns its ETag, bare (as S3 events carry it).
pub fn put(context: &AwsContext, bucket: &str, key: &str, bytes: Vec<u8>) -> String {
    let output = context
        .block_on(
            context
                .s3()
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(bytes))
                .send(),
        )
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
    output
        .e_tag
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

/// Gets an object's bytes.
pub fn get(context: &AwsContext, bucket: &str, key: &str) -> Vec<u8> {
    try_get(context, bucket, key, std::time::Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e}"))
}

/// Gets an object's bytes, trying again for up to `within`: a body that stalls (an emulator
/// just resumed from a pause, still catching up on the requests it received while paused) is
/// read again. The last error once `within` has passed.
pub fn try_get(
    context: &AwsContext,
    bucket: &str,
    key: &str,
    within: std::time::Duration,
) -> Result<Vec<u8>, String> {
    let until = std::time::Instant::now() + within;
    let mut last = String::new();
    while last.is_empty() || std::time::Instant::now() < until {
        if !last.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let answer = context.block_on(async {
            let output = context
                .s3()
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            output
                .body
                .collect()
                .await
                .map(|b| b.into_bytes().to_vec())
                .map_err(|e| format!("{e:?}"))
        });
        match answer {
            Ok(bytes) => return Ok(bytes),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Waits (up to 30 s) until S3 answers a listing of `bucket` promptly again.
pub fn wait_for_s3(context: &AwsContext, bucket: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let answer = context.block_on(context.s3().list_objects_v2().bucket(bucket).send());
        if answer.is_ok() {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "S3 did not come back: {answer:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Every object of a bucket with its bytes, sorted by key.
pub fn contents(context: &AwsContext, bucket: &str) -> Vec<(String, Vec<u8>)> {
    keys(context, bucket)
        .into_iter()
        .map(|k| {
            let bytes = get(context, bucket, &k);
            (k, bytes)
        })
        .collect()
}

/// The keys of a bucket, sorted.
pub fn keys(context: &AwsContext, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let output = context
            .block_on(
                context
                    .s3()
                    .list_objects_v2()
                    .bucket(bucket)
                    .set_continuation_token(token.take())
                    .send(),
            )
            .unwrap_or_else(|e| panic!("list s3://{bucket}: {e:?}"));
        keys.extend(
            output
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match output.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    keys.sort();
    keys
}

/// The S3 event (as S3 sends it) for an object, written to a file under `dir`.
pub fn event_file(dir: &Path, bucket: &str, key: &str, size: u64, etag: &str) -> PathBuf {
    let event = adx_handlers::s3_event::object_created_event(
        bucket,
        key,
        size,
        etag,
        "2026-11-28T06:00:00.000Z",
    );
    let path = dir.join(format!("event-{}.json", unique("s3")));
    std::fs::write(&path, event.to_string()).unwrap();
    path
}
