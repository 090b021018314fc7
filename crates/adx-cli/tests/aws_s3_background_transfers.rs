//! The S3 adapter moves bytes in the background: the writer uploads an object's parts while
//! the caller (the Parquet encoder) goes on writing, and completes the object while the caller
//! goes on to the next; the reader fetches a body ahead of the decoder. The object is the bytes
//! written in their order; a part that fails on its way fails the writer, with no object left
//! behind; a body that breaks off is an error, never an early end.
//!
//! Run by `infra/test-all.sh`, which starts the emulators. Four tests pause LocalStack (SIGSTOP on
//! its process group): the tests of this binary take turns, and no other test binary runs
//! meanwhile.

mod common;

use adx_aws::{AwsContext, AwsSettings, PARTS_IN_FLIGHT, READ_AHEAD_BYTES, S3Store};
use adx_core::ObjectStore;
use common::aws::{context, create_bucket, get, keys, put, unique, wait_for_s3};
use common::localstack::{LocalStack, Resume};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The smallest part S3 takes (but the last).
const PART: usize = 5 << 20;

/// Held by each test: one pauses the emulator that the other uses.
static TURN: Mutex<()> = Mutex::new(());

/// `len` bytes that differ from part to part and from position to position.
fn pattern(part: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + part * 7919) % 251) as u8)
        .collect()
}

/// A context whose calls give up within seconds when no answer comes, so that a write waiting
/// on the paused S3 would fail the test rather than return late.
fn impatient() -> AwsContext {
    let settings = AwsSettings {
        max_attempts: 3,
        read_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(10),
        ..AwsSettings::from_env().unwrap()
    };
    AwsContext::load(&settings).unwrap()
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn writes_go_on_while_a_part_uploads_and_the_object_keeps_the_order_of_its_parts() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let checker = context();
    let bucket = unique("it-parts");
    create_bucket(&checker, &bucket);
    let aws = impatient();
    let store = S3Store::new(&aws, PART);
    let key = "parts/in order.bin";
    let mut writer = store.create(&bucket, key).unwrap();

    // The first part starts the multipart upload (answered before `write` returns) and goes
    // up in the background.
    let mut want = pattern(0, PART);
    writer.write(&want).unwrap();

    // With S3 paused, the next parts are handed to the background and `write` returns at
    // once, as long as no more than PARTS_IN_FLIGHT are on their way: a writer that waited
    // for S3 would fail here after its read timeout instead.
    let localstack = Arc::new(LocalStack::from_state());
    let while_paused = {
        let _resume = Resume(localstack.clone());
        localstack.signal("-STOP");
        (1..PARTS_IN_FLIGHT)
            .map(|part| {
                let bytes = pattern(part, PART);
                let written = writer.write(&bytes);
                want.extend_from_slice(&bytes);
                written
            })
            .collect::<Vec<_>>()
    };
    for (part, written) in while_paused.into_iter().enumerate() {
        assert!(
            written.is_ok(),
            "part {} was waited for while S3 was paused: {written:?}",
            part + 2
        );
    }
    wait_for_s3(&checker, &bucket);

    // More parts than may be in flight (the writer now waits for the oldest), and a short
    // last one.
    for part in PARTS_IN_FLIGHT..PARTS_IN_FLIGHT + 2 {
        let bytes = pattern(part, PART);
        writer.write(&bytes).unwrap();
        want.extend_from_slice(&bytes);
    }
    let tail = pattern(99, 12_345);
    writer.write(&tail).unwrap();
    want.extend_from_slice(&tail);
    writer.finish().unwrap();

    let got = get(&checker, &bucket, key);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the object is not the bytes written, in order");
    let head = checker
        .block_on(checker.s3().head_object().bucket(&bucket).key(key).send())
        .unwrap();
    let parts = PARTS_IN_FLIGHT + 3;
    assert!(
        head.e_tag()
            .is_some_and(|t| t.trim_matches('"').ends_with(&format!("-{parts}"))),
        "a multipart object of {parts} parts: ETag {:?}",
        head.e_tag()
    );
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn a_part_that_fails_in_the_background_fails_the_writer_and_leaves_no_object() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let checker = context();
    let bucket = unique("it-parts-fail");
    create_bucket(&checker, &bucket);
    let store = S3Store::new(&checker, PART);
    let key = "parts/aborted.bin";
    let mut writer = store.create(&bucket, key).unwrap();
    writer.write(&pattern(0, PART)).unwrap();

    // The upload is aborted behind the writer's back: the parts still to come are refused.
    let uploads = checker
        .block_on(checker.s3().list_multipart_uploads().bucket(&bucket).send())
        .unwrap();
    let ids: Vec<&str> = uploads
        .uploads()
        .iter()
        .filter(|u| u.key() == Some(key))
        .filter_map(|u| u.upload_id())
        .collect();
    assert_eq!(ids.len(), 1, "one upload in progress: {ids:?}");
    checker
        .block_on(
            checker
                .s3()
                .abort_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .upload_id(ids[0])
                .send(),
        )
        .unwrap();

    // The failure surfaces at the latest when the writer finishes, naming the call and the
    // object; earlier writes may already report it.
    let mut failure = None;
    for part in 1..PARTS_IN_FLIGHT + 2 {
        if let Err(e) = writer.write(&pattern(part, PART)) {
            failure = Some(e);
            break;
        }
    }
    let failure = match failure {
        Some(e) => e,
        None => writer
            .finish_in_background()
            .wait()
            .expect_err("an upload whose parts were refused must not complete"),
    };
    let message = failure.to_string();
    assert!(
        message.contains("UploadPart") && message.contains(key),
        "the error names the call and the object: {message}"
    );
    assert!(
        keys(&checker, &bucket).is_empty(),
        "no object is left behind"
    );
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn a_body_read_ahead_is_the_object_in_order_and_one_that_breaks_off_is_an_error() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let checker = context();
    let bucket = unique("it-read-ahead");
    create_bucket(&checker, &bucket);
    // Several times the read-ahead, so that a paused S3 stops the body before its end.
    let want: Vec<u8> = (0..6 * READ_AHEAD_BYTES / PART + 1)
        .flat_map(|part| pattern(part, PART))
        .collect();
    let key = "read/ahead.bin";
    put(&checker, &bucket, key, want.clone());
    let aws = impatient();
    let store = S3Store::new(&aws, PART);

    let mut got = Vec::new();
    store
        .get(&bucket, key)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the body read is not the object, in order");

    // S3 stops answering a little way into the body: the reader gets what came before, then
    // an error naming the object (once the SDK's stalled-stream protection gives up, about 20 s
    // without a byte), not the end of a shorter object.
    let mut reader = store.get(&bucket, key).unwrap();
    let mut head = vec![0u8; 1 << 20];
    reader.read_exact(&mut head).unwrap();
    let localstack = Arc::new(LocalStack::from_state());
    let (read, ended) = {
        let _resume = Resume(localstack.clone());
        localstack.signal("-STOP");
        let mut read = head;
        let mut buf = vec![0u8; 64 << 10];
        let ended = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => read.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        (read, ended)
    };
    let error = ended.expect_err("a body broken off by a paused S3 must be an error");
    assert!(
        error.to_string().contains(key),
        "the error names the object: {error}"
    );
    assert!(read.len() < want.len(), "the body stopped before its end");
    assert!(
        want.starts_with(&read),
        "what came before the error is the object's start"
    );
    // Reading on repeats the error rather than ending the object there.
    assert!(reader.read(&mut [0u8; 16]).is_err());
    wait_for_s3(&checker, &bucket);
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn objects_finished_in_the_background_are_complete_once_waited_for() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let checker = context();
    let bucket = unique("it-finish");
    create_bucket(&checker, &bucket);
    let aws = impatient();
    let store = S3Store::new(&aws, PART);
    // A multipart object whose short last part is left for the finish, and a small one, put
    // whole.
    let big_key = "finish/big.bin";
    let mut big = store.create(&bucket, big_key).unwrap();
    let mut big_want = pattern(0, PART);
    big.write(&big_want).unwrap();
    let tail = pattern(1, 4321);
    big.write(&tail).unwrap();
    big_want.extend_from_slice(&tail);
    let small_key = "finish/small.bin";
    let small_want = pattern(2, 999);
    let mut small = store.create(&bucket, small_key).unwrap();
    small.write(&small_want).unwrap();

    // With S3 paused, finishing hands the work to the background and returns at once: a
    // writer that completed the object first would fail here after its timeouts instead.
    let localstack = Arc::new(LocalStack::from_state());
    let pending = {
        let _resume = Resume(localstack.clone());
        localstack.signal("-STOP");
        [big.finish_in_background(), small.finish_in_background()]
    };
    for done in pending {
        done.wait().unwrap();
    }
    assert!(
        get(&checker, &bucket, big_key) == big_want,
        "the big object"
    );
    assert!(
        get(&checker, &bucket, small_key) == small_want,
        "the small object"
    );
    let head = checker
        .block_on(
            checker
                .s3()
                .head_object()
                .bucket(&bucket)
                .key(big_key)
                .send(),
        )
        .unwrap();
    assert!(
        head.e_tag()
            .is_some_and(|t| t.trim_matches('"').ends_with("-2")),
        "two parts, the second sent by the finish: ETag {:?}",
        head.e_tag()
    );
}

#[test]
#[ignore = "needs LocalStack and moto: infra/test-all.sh starts them"]
fn a_completion_nobody_waits_for_is_abandoned_and_its_upload_aborted() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let checker = context();
    let bucket = unique("it-abandon");
    create_bucket(&checker, &bucket);
    let aws = impatient();
    let store = S3Store::new(&aws, PART);
    let key = "abandon/big.bin";
    let mut writer = store.create(&bucket, key).unwrap();
    writer.write(&pattern(0, PART)).unwrap();
    writer.write(&pattern(1, 100)).unwrap();

    // The completion is dropped (as when the invocation fails) while its last part cannot
    // reach the paused S3, so before it could complete the object.
    let localstack = Arc::new(LocalStack::from_state());
    {
        let _resume = Resume(localstack.clone());
        localstack.signal("-STOP");
        drop(writer.finish_in_background());
    }
    wait_for_s3(&checker, &bucket);

    // The upload is aborted in the background: once it is gone, no object is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let uploads = checker
            .block_on(checker.s3().list_multipart_uploads().bucket(&bucket).send())
            .unwrap();
        if uploads.uploads().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the abandoned upload is still there after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        keys(&checker, &bucket).is_empty(),
        "an abandoned completion made the object visible"
    );
}
