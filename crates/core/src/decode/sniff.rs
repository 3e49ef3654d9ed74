//! What the first bytes of an input say about the rest: gzip, and a UTF-8 byte-order mark.

use std::io::{self, BufReader, Read};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The length of a byte-order mark at the start of decoded bytes: 3 or 0.
pub(crate) fn bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with(BOM) {
        BOM.len()
    } else {
        0
    }
}

/// `reader`, decompressed when it starts with the gzip magic (concatenated members included, as
/// `cat a.gz b.gz` makes them).
pub(crate) fn decompressed<'a, R: Read + 'a>(mut reader: R) -> io::Result<Box<dyn Read + 'a>> {
    // Two bytes rather than a `BufReader` up front: allocating a large buffer per input costs
    // more than decoding a typical event.
    let mut magic = [0u8; 2];
    let mut sniffed = 0;
    while let Some(room) = magic.get_mut(sniffed..).filter(|r| !r.is_empty()) {
        match reader.read(room) {
            Ok(0) => break,
            Ok(n) => sniffed += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = io::Cursor::new(magic).take(sniffed as u64);
    let whole = prefix.chain(reader);
    Ok(if sniffed == 2 && is_gzip(&magic) {
        Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(64 * 1024, whole),
        ))
    } else {
        Box::new(whole)
    })
}
