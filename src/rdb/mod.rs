//! The RDB file format (Redis `rdb.h`/`rdb.c`), both ways: [`save`] writes version 10 (what
//! redis-server 7.0 writes and reads) from the keyspace; [`load`] reads every encoding Redis
//! 7.0–7.2 writes for strings, lists, sets, sorted sets and hashes into the keyspace.
//!
//! RDB is used as the AOF's BASE format (`aof-use-rdb-preamble yes`), for `dump.rdb` snapshots
//! (SAVE, BGSAVE, save points) and for DEBUG RELOAD. Neither direction does any I/O of its own
//! beyond the `Read`/`Write` it is given, so the rewrite child can use the writer with plain
//! file syscalls, and the AOF loader can continue with RESP after an RDB preamble.

pub mod crc64;
pub mod intset;
pub mod listpack;
pub mod load;
pub mod lzf;
pub mod save;
pub mod ziplist;

/// The version aofd writes: redis-server 7.0 writes and accepts 10 (7.2 writes 11, which 7.0
/// refuses).
pub const RDB_VERSION: u32 = 10;
/// The newest version the reader accepts (Redis 7.2).
pub const RDB_MAX_READ_VERSION: u32 = 11;

/// Value types (`RDB_TYPE_*`).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Special opcodes between key/value pairs (`RDB_OPCODE_*`).
pub mod opcodes {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Length encodings (`RDB_6BITLEN` ...): the two top bits of the first byte.
pub mod len {
    pub const BITS6: u8 = 0;
    pub const BITS14: u8 = 1;
    pub const BITS32: u8 = 0x80;
    pub const BITS64: u8 = 0x81;
    /// The length is a special string encoding (`RDB_ENCVAL`), one of `enc::*`.
    pub const ENCVAL: u8 = 3;
}

/// Special string encodings after `len::ENCVAL` (`RDB_ENC_*`).
pub mod enc {
    pub const INT8: u8 = 0;
    pub const INT16: u8 = 1;
    pub const INT32: u8 = 2;
    pub const LZF: u8 = 3;
}

/// Quicklist 2 node containers (`QUICKLIST_NODE_CONTAINER_*`).
pub mod container {
    pub const PLAIN: u8 = 1;
    pub const PACKED: u8 = 2;
}
