//! Lowercase hex, strict both ways (key files and ids are case-sensitive by format).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as lowercase hex.
pub(crate) fn push_lower(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// Decodes exactly `2 * out.len()` lowercase hex characters into `out`.
/// Returns the index of the first offending character, if any (`None` on success).
pub(crate) fn decode_lower(s: &str, out: &mut [u8]) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() != 2 * out.len() {
        return Some(b.len().min(2 * out.len()));
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        let hi = nibble(b[2 * i]);
        let lo = nibble(b[2 * i + 1]);
        match (hi, lo) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            (None, _) => return Some(2 * i),
            (_, None) => return Some(2 * i + 1),
        }
    }
    None
}
