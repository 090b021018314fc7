//! An Avro container file's blocks read and decompressed (deflate, snappy, zstd) on a thread of
//! their own, so that the decoder on the caller's thread finds each block ready. The blocks
//! come in order, at most [`BLOCKS_AHEAD`] read and not yet taken; their buffers go back to
//! the thread to be filled again. A block error comes where the block is, and a thread that
//! stops without reaching the end is an error, never an early end. Dropping the reader stops
//! the thread once it has read the block it is on (its next send fails).

use crate::formats::avro_blocks::{Block, BlockError, BlockSource, Blocks};
use std::io::{self, BufRead};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::Scope;

/// Blocks the thread may have read that the decoder has not taken (one waiting in the
/// channel, one more waiting to be sent): with the block the decoder holds, the memory of two
/// more blocks than on one thread (up to 64 MiB with the largest blocks allowed,
/// [`super::avro_blocks::MAX_BLOCK_BYTES`]).
pub const BLOCKS_AHEAD: usize = 2;

/// What the thread sends.
enum Sent {
    /// The next block: its record count and bytes.
    Block(usize, Vec<u8>),
    /// The file ended here.
    End,
    /// The block here is damaged (or unreadable); nothing follows.
    Failed(BlockError),
}

/// The decoder's side: the blocks, in order.
pub struct BlocksAhead {
    blocks: Receiver<Sent>,
    spare: Sender<Vec<u8>>,
    current: Vec<u8>,
    /// Blocks taken so far (the number of the next one).
    taken: u64,
    ended: bool,
}

/// Reads `blocks` on a thread of `scope` (named `adx-avro-blocks`); an error if the thread
/// cannot be started.
pub fn blocks_ahead<'scope, 'env, R: BufRead + Send + 'env>(
    scope: &'scope Scope<'scope, 'env>,
    blocks: Blocks<R>,
) -> io::Result<BlocksAhead> {
    let (tx, rx) = sync_channel(BLOCKS_AHEAD - 1);
    let (spare, spare_rx) = channel();
    std::thread::Builder::new()
        .name("adx-avro-blocks".into())
        .spawn_scoped(scope, move || fill(blocks, &tx, &spare_rx))?;
    Ok(BlocksAhead {
        blocks: rx,
        spare,
        current: Vec::new(),
        taken: 0,
        ended: false,
    })
}

/// The thread: reads blocks until the end, an error, or a reader gone.
fn fill<R: BufRead>(mut blocks: Blocks<R>, tx: &SyncSender<Sent>, spare: &Receiver<Vec<u8>>) {
    loop {
        let buffer = spare.try_recv().unwrap_or_default();
        let sent = match blocks.next_block_owned(buffer) {
            Ok(Some((count, bytes))) => Sent::Block(count, bytes),
            Ok(None) => Sent::End,
            Err(e) => Sent::Failed(e),
        };
        let last = !matches!(sent, Sent::Block(..));
        if tx.send(sent).is_err() || last {
            return;
        }
    }
}

impl BlockSource for BlocksAhead {
    fn next_block(&mut self) -> Result<Option<Block<'_>>, BlockError> {
        if self.ended {
            return Ok(None);
        }
        let sent = self.blocks.recv().unwrap_or_else(|_| {
            Sent::Failed(BlockError::Corrupt {
                block: self.taken,
                message: "the block-reading thread stopped before the end of the file".into(),
            })
        });
        match sent {
            Sent::Block(count, bytes) => {
                let done = std::mem::replace(&mut self.current, bytes);
                // The thread allocates a new buffer if it is gone; nothing to do then.
                let _ = self.spare.send(done);
                self.taken += 1;
                Ok(Some(Block {
                    count,
                    bytes: &self.current,
                }))
            }
            Sent::End => {
                self.ended = true;
                Ok(None)
            }
            Sent::Failed(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Value;
    use apache_avro::{Codec as AvroCodec, Schema, Writer};

    const SCHEMA: &str = r#"{"type":"record","name":"r","fields":[{"name":"n","type":"long"}]}"#;

    fn file(codec: AvroCodec, records: i64) -> Vec<u8> {
        let schema = Schema::parse_str(SCHEMA).unwrap();
        let mut writer = Writer::builder()
            .schema(&schema)
            .writer(Vec::new())
            .codec(codec)
            .block_size(64)
            .build()
            .unwrap();
        for i in 0..records {
            let mut r = apache_avro::types::Record::new(&schema).unwrap();
            r.put("n", Value::Long(i));
            writer.append_value(r).unwrap();
        }
        writer.into_inner().unwrap()
    }

    /// Every block's (count, bytes), then the error that stopped the reading, if any.
    type AllBlocks = (Vec<(usize, Vec<u8>)>, Option<String>);

    fn read_all(source: &mut dyn BlockSource) -> AllBlocks {
        let mut got = Vec::new();
        loop {
            match source.next_block() {
                Ok(Some(block)) => got.push((block.count, block.bytes.to_vec())),
                Ok(None) => return (got, None),
                Err(e) => return (got, Some(e.to_string())),
            }
        }
    }

    /// The same file read on the caller's thread and through the block thread.
    fn both(bytes: &[u8]) -> [AllBlocks; 2] {
        let inline = read_all(&mut Blocks::open(bytes).unwrap());
        let ahead = std::thread::scope(|scope| {
            let blocks = Blocks::open(bytes).unwrap();
            let mut ahead = blocks_ahead(scope, blocks).unwrap();
            let all = read_all(&mut ahead);
            if all.1.is_none() {
                assert!(
                    matches!(ahead.next_block(), Ok(None)),
                    "the end stays the end"
                );
            }
            all
        });
        [inline, ahead]
    }

    #[test]
    fn every_codec_gives_the_same_blocks_as_on_one_thread() {
        for codec in [
            AvroCodec::Null,
            AvroCodec::Deflate(Default::default()),
            AvroCodec::Snappy,
            AvroCodec::Zstandard(Default::default()),
        ] {
            let [inline, ahead] = both(&file(codec, 2_000));
            assert!(
                inline.0.len() > 2 * BLOCKS_AHEAD,
                "{} blocks",
                inline.0.len()
            );
            assert_eq!(inline.0.iter().map(|b| b.0).sum::<usize>(), 2_000);
            assert!(inline.1.is_none(), "{:?}", inline.1);
            assert_eq!(inline, ahead, "{codec:?}");
        }
    }

    #[test]
    fn a_damaged_block_is_the_same_error_after_the_same_blocks() {
        let mut bytes = file(AvroCodec::Deflate(Default::default()), 2_000);
        // The sync marker after a block two thirds into the file, changed.
        let sync = bytes[bytes.len() - 16..].to_vec();
        let at = (bytes.len() * 2 / 3..bytes.len())
            .find(|&i| bytes[i..].starts_with(&sync))
            .unwrap();
        bytes[at] ^= 1;
        let [inline, ahead] = both(&bytes);
        let error = inline.1.clone().unwrap_or_default();
        assert!(error.contains("sync marker"), "{error}");
        assert!(!inline.0.is_empty(), "blocks before the damage are read");
        assert_eq!(inline, ahead);
    }

    #[test]
    fn a_thread_that_stops_without_an_end_is_an_error() {
        let (tx, rx) = sync_channel(1);
        let (spare, _spare_rx) = channel();
        tx.send(Sent::Block(1, vec![2])).unwrap();
        drop(tx);
        let mut ahead = BlocksAhead {
            blocks: rx,
            spare,
            current: Vec::new(),
            taken: 0,
            ended: false,
        };
        let (got, error) = read_all(&mut ahead);
        assert_eq!(got, vec![(1, vec![2])]);
        let error = error.unwrap_or_default();
        assert!(
            error.contains("block 1") && error.contains("stopped"),
            "{error}"
        );
    }

    #[test]
    fn a_reader_dropped_early_stops_the_thread() {
        let bytes = file(AvroCodec::Null, 20_000);
        let total = read_all(&mut Blocks::open(&bytes[..]).unwrap()).0.len();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        /// Counts the bytes taken from the file.
        struct Counting<'a> {
            inner: &'a [u8],
            taken: &'a std::sync::atomic::AtomicUsize,
        }
        impl std::io::Read for Counting<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.inner.read(out)?;
                self.taken.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                Ok(n)
            }
        }
        std::thread::scope(|scope| {
            let counting = Counting {
                inner: &bytes,
                taken: &reads,
            };
            let blocks = Blocks::open(std::io::BufReader::with_capacity(64, counting)).unwrap();
            let mut ahead = blocks_ahead(scope, blocks).unwrap();
            assert!(matches!(ahead.next_block(), Ok(Some(_))));
            drop(ahead);
        });
        let read = reads.load(std::sync::atomic::Ordering::SeqCst);
        assert!(total > 100, "{total} blocks");
        assert!(
            read < bytes.len() / 10,
            "{read} of {} bytes read",
            bytes.len()
        );
    }
}
