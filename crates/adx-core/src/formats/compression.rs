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

/// Wraps `input` in the streaming decompressor `compression` needs; the decompressed stream
/// fails once it passes `max_bytes` (a decompression bomb is stopped, not followed).
pub fn decompress<'a>(
    input: Box<dyn Read + Send + 'a>,
    compression: Compression,
    max_bytes: u64,
) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    let inflated: Box<dyn Read + Send + 'a> = match compression {
        Compression::None => return Ok(input),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(64 << 10, input),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
    };
    Ok(Box::new(Bounded {
        inner: inflated,
        left: max_bytes,
        max: max_bytes,
    }))
}

/// A reader that errors once more than `max` bytes came through.
struct Bounded<R> {
    inner: R,
    left: u64,
    max: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "the object decompresses to more than the bound of {} bytes (ADX_MAX_INFLATED_BYTES)",
                self.max
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_decompression_bomb_stops_at_the_bound() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; 50 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 100 << 10, "{} bytes", bomb.len());
        let mut out = Vec::new();
        let err = decompress(
            Box::new(std::io::Cursor::new(bomb.clone())),
            Compression::Gzip,
            1 << 20,
        )
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
        assert!(err.to_string().contains("bound of 1048576 bytes"), "{err}");
        assert!(out.len() <= 1 << 20);
        let mut all = Vec::new();
        decompress(
            Box::new(std::io::Cursor::new(bomb)),
            Compression::Gzip,
            64 << 20,
        )
        .unwrap()
        .read_to_end(&mut all)
        .unwrap();
        assert_eq!(all.len(), 50 << 20);
    }
}
