//! LZF, the compression RDB uses for long strings (`RDB_ENC_LZF`): a decompressor that checks
//! every reference against its buffers (a corrupt stream is an error, never a panic or an
//! out-of-bounds read), and a small greedy compressor whose output Redis's `lzf_decompress`
//! accepts.
//!
//! The stream is a sequence of items, each led by a control byte `c`:
//! - `c < 32`: a literal run; the next `c + 1` bytes are copied to the output.
//! - otherwise a back reference: `len = c >> 5` (7 means "7 plus the next byte"), then one more
//!   byte completes a 13-bit distance `((c & 31) << 8 | byte) + 1` back from the end of the
//!   output, from where `len + 2` bytes are copied (overlapping copies repeat bytes, as in RLE).

/// Why a stream does not decompress (the text goes into the RDB loader's error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LzfError(pub &'static str);

impl std::fmt::Display for LzfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Longest back reference: `len` field 7 + 255, plus the implicit 2.
const MAX_MATCH: usize = 7 + 255 + 2;
/// Farthest back a reference can reach (13 bits of distance, minus one).
const MAX_DISTANCE: usize = 1 << 13;
/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// log2 of the compressor's hash table size.
const HASH_LOG: u32 = 14;
/// The most output one input byte can produce (a 3-byte reference yields at most 264 bytes),
/// rounded up: a declared size beyond `input * MAX_RATIO` cannot be right, which lets the
/// decompressor refuse absurd sizes before allocating them.
const MAX_RATIO: usize = 90;

/// Decompresses `input`, which must expand to exactly `out_len` bytes (RDB stores that length
/// next to the compressed one). The result has exactly `out_len` capacity.
///
/// # Errors
/// When the stream is truncated, refers before the start of the output, or expands to more or
/// fewer than `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    if out_len > input.len().saturating_mul(MAX_RATIO) {
        return Err(LzfError(
            "declared length is impossible for the compressed size",
        ));
    }
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while let Some(&ctrl) = input.get(i) {
        i += 1;
        let ctrl = usize::from(ctrl);
        if ctrl < MAX_LITERAL {
            let run = ctrl + 1;
            let lit = input
                .get(i..i + run)
                .ok_or(LzfError("literal run past the end of the input"))?;
            if out.len() + run > out_len {
                return Err(LzfError("output longer than declared"));
            }
            out.extend_from_slice(lit);
            i += run;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            let extra = *input
                .get(i)
                .ok_or(LzfError("back reference past the end of the input"))?;
            len += usize::from(extra);
            i += 1;
        }
        let low = *input
            .get(i)
            .ok_or(LzfError("back reference past the end of the input"))?;
        i += 1;
        let distance = ((ctrl & 0x1f) << 8 | usize::from(low)) + 1;
        let start = out
            .len()
            .checked_sub(distance)
            .ok_or(LzfError("back reference before the start of the output"))?;
        let count = len + 2;
        if out.len() + count > out_len {
            return Err(LzfError("output longer than declared"));
        }
        if start + count <= out.len() {
            out.extend_from_within(start..start + count);
        } else {
            // Overlapping: each copied byte may be one this reference just produced.
            for k in 0..count {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(LzfError("output shorter than declared"));
    }
    Ok(out)
}

/// Appends `lit` as literal runs of at most 32 bytes.
fn push_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(MAX_LITERAL) {
        // A chunk holds 1..=32 bytes, so the control byte is 0..=31.
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Hash of the 3 bytes at the start of `w` for the match table.
fn hash3(w: &[u8]) -> usize {
    let v = u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

/// Compresses `input` into an LZF stream (greedy matching through a hash table of the last
/// position of each 3-byte sequence). Any input gives a valid stream, possibly longer than the
/// input; the caller decides whether compressing was worth it, as Redis's saver does.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / MAX_LITERAL + 1);
    let mut table = vec![usize::MAX; 1 << HASH_LOG];
    let mut lit_start = 0;
    let mut i = 0;
    while i + 3 <= input.len() {
        let h = hash3(&input[i..]);
        let cand = table[h];
        table[h] = i;
        let usable = cand != usize::MAX
            && i - cand <= MAX_DISTANCE
            && input[cand..cand + 3] == input[i..i + 3];
        if !usable {
            i += 1;
            continue;
        }
        let max = MAX_MATCH.min(input.len() - i);
        let mut len = 3;
        while len < max && input[cand + len] == input[i + len] {
            len += 1;
        }
        push_literals(&mut out, &input[lit_start..i]);
        let distance = i - cand - 1;
        let code = len - 2;
        // distance < 8192, so its high part fits the control byte's low 5 bits.
        let high = (distance >> 8) as u8;
        if code < 7 {
            out.push((code as u8) << 5 | high);
        } else {
            out.push(7 << 5 | high);
            out.push((code - 7) as u8);
        }
        out.push(distance as u8);
        // Remember the positions inside the match too, so later repeats find them.
        for p in i + 1..(i + len).min(input.len().saturating_sub(2)) {
            table[hash3(&input[p..])] = p;
        }
        i += len;
        lit_start = i;
    }
    push_literals(&mut out, &input[lit_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        let packed = compress(data);
        assert_eq!(decompress(&packed, data.len()).as_deref(), Ok(data));
    }

    #[test]
    fn round_trips() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"abc");
        round_trip(&[b'x'; 10_000]);
        round_trip(b"hello hello hello hello hello world world world");
        let mixed: Vec<u8> = (0..50_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        round_trip(&mixed);
        let noise: Vec<u8> = (0..5000u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
            .collect();
        round_trip(&noise);
    }

    #[test]
    fn repetitive_input_shrinks() {
        assert!(compress(&[b'a'; 1000]).len() < 30);
    }

    #[test]
    fn hand_made_stream() {
        // Literal "ab", then a reference of length 4 (code 2) at distance 2: "abab" + "ab".
        let stream = [1, b'a', b'b', 2 << 5, 1];
        assert_eq!(decompress(&stream, 6), Ok(b"ababab".to_vec()));
        // Long reference: code 7 + 3 = 10, 12 bytes of 'z' after one literal 'z'.
        let stream = [0, b'z', 7 << 5, 3, 0];
        assert_eq!(decompress(&stream, 13), Ok(vec![b'z'; 13]));
    }

    #[test]
    fn corrupt_streams_are_errors() {
        // Reference before the start.
        assert!(decompress(&[0, b'a', 1 << 5, 5], 4).is_err());
        // Literal run past the input.
        assert!(decompress(&[5, b'a'], 6).is_err());
        // Output too long and too short.
        assert!(decompress(&[1, b'a', b'b'], 1).is_err());
        assert!(decompress(&[1, b'a', b'b'], 3).is_err());
        // Truncated reference.
        assert!(decompress(&[0, b'a', 7 << 5], 20).is_err());
        assert!(decompress(&[0, b'a', 1 << 5], 20).is_err());
        // Absurd declared size is refused before allocating.
        assert!(decompress(&[0, b'a'], usize::MAX).is_err());
        // Every truncation of a valid stream fails (or, at 0 bytes, yields nothing).
        let data = b"some text some text some text that repeats, repeats, repeats".repeat(3);
        let packed = compress(&data);
        for cut in 0..packed.len() {
            assert!(decompress(&packed[..cut], data.len()).is_err(), "cut {cut}");
        }
    }
}
