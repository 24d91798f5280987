//! CRC-64 as Redis computes it for RDB files (`crc64.c`): the Jones polynomial
//! (0xad93d23594c935a9), reflected input and output, initial value 0, no final xor. The
//! checksum of `"123456789"` is `0xe9c6d914c4b8d9ca`.
//!
//! Slicing-by-8 (eight lookup tables built at compile time), because the rewrite child runs every
//! byte of a snapshot through it and byte-at-a-time would cost several times more.

/// The Jones polynomial, bit-reflected (so the CRC can shift right, least significant bit first).
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// `TABLES[0]` is the classic byte table; `TABLES[k][b]` is the CRC of byte `b` followed by `k`
/// zero bytes, which lets eight input bytes be folded in with eight lookups.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

/// Continues the checksum `crc` over `data` (start with 0), like Redis's `crc64(crc, data, len)`.
pub fn update(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = crc ^ u64::from_le_bytes(word);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_test_vectors() {
        // The vector of Redis's own crc64 self-test.
        assert_eq!(update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn split_input_gives_the_same_checksum() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = update(0, &data);
        for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
            assert_eq!(update(update(0, &data[..cut]), &data[cut..]), whole);
        }
    }

    #[test]
    fn slicing_matches_bytewise() {
        let data: Vec<u8> = (0..257u32).map(|i| (i * 31 + 11) as u8).collect();
        let mut bytewise = 0u64;
        for &b in &data {
            bytewise = TABLES[0][((bytewise ^ u64::from(b)) & 0xff) as usize] ^ (bytewise >> 8);
        }
        assert_eq!(update(0, &data), bytewise);
    }
}
