//! Undoing `.gz` and `.zst` compression as a stream.

use std::io::Read;

/// Compression of an object, from its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// gzip (`.gz`), multi-member allowed.
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

/// Wraps `input` in the streaming decompressor `compression` needs.
pub fn decompress<'a>(
    input: Box<dyn Read + Send + 'a>,
    compression: Compression,
) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match compression {
        Compression::None => input,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(64 << 10, input),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
    })
}
