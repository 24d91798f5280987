//! The sorted set: members ordered by (score, member bytes), with O(1) score lookup by member
//! and O(log n) access by rank.
//!
//! Two views of the same elements, as in Redis:
//! - a skip list with spans (Pugh's skip list, where each forward link also records how many
//!   elements it jumps over). Spans make rank queries — ZRANK, ZRANGE by index,
//!   ZREMRANGEBYRANK, the offset of a LIMIT — O(log n) instead of a walk from the head.
//! - `dict`, an insertion-indexed hash index from member to the skip-list node that holds it.
//!   It answers ZSCORE in O(1), and its dense indexes give ZSCAN a plain-index cursor (the same
//!   `swap_remove` argument as `Db::scan_indexes`) and ZRANDMEMBER O(1) random picks.
//!
//! The skip list lives in a `Vec` arena: nodes refer to each other by index (`NIL` for none),
//! freed slots are reused, and the arena is compacted when it is mostly holes. No `unsafe`.
//!
//! Layout, chosen for speed (a search is a chain of dependent memory loads, so what matters is
//! how many cache lines each step touches): a node holds its member itself (a `Key`, inline up
//! to 22 bytes), its score and its four lowest forward links (32-bit indexes and spans) in one
//! 64-byte cache line, so comparing against a node and following its links touches that line
//! only. Only the rare nodes above level 4 (1 in 256) keep their upper links in a separate
//! boxed slice; the backward link and dict index live in a parallel array that searches never
//! read. The member's bytes are stored once, in the node: `dict` is an `IndexMap` whose keys
//! are node indexes, hashed and compared by the member they point to through indexmap's
//! raw-entry API (each entry stores its hash, so the map never needs to rehash a key by itself).
//!
//! Scores are `f64` and never NaN (callers reject NaN first); -0.0 and 0.0 compare equal, and a
//! tie on score is broken by comparing member bytes, exactly as Redis orders its skip list.
//!
//! Redis keeps small sorted sets in a listpack, which stores scores as text and so turns -0 into
//! 0, and reports `listpack` or `skiplist` in OBJECT ENCODING. `listpack` tracks which encoding
//! Redis would be using (same thresholds, same one-way conversion), so both are observable
//! exactly as in Redis although the structure is always the skip list.

use std::fmt;
use std::hash::BuildHasher;

use indexmap::map::raw_entry_v1::RawEntryMut;
use indexmap::map::{MutableKeys, RawEntryApiV1};
use indexmap::IndexMap;

use super::Key;

/// The most levels a node can have (Redis's `ZSKIPLIST_MAXLEVEL`).
const MAX_LEVEL: usize = 32;
/// The chance that a node reaching level i also reaches level i + 1 (`ZSKIPLIST_P`), in 1/256.
const LEVEL_P_256: u64 = 64;
/// Most members a listpack-encoded set holds (`zset-max-listpack-entries`).
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Longest member a listpack-encoded set holds (`zset-max-listpack-value`).
pub const LISTPACK_MAX_VALUE: usize = 64;
/// The index of the header node, which holds no element.
const HEAD: usize = 0;
/// "No node" (the largest index a `Link` can hold).
const NIL: usize = u32::MAX as usize;
/// Most members a sorted set can hold, so that node indexes (at most one more than the number
/// of members when a slot is added) and spans fit in a `Link`. Unreachable in practice: the
/// nodes alone would take 128 GiB.
const MAX_MEMBERS: usize = (u32::MAX / 2) as usize;
/// Forward links kept inside the node. With P = 1/4, 255 nodes in 256 have at most four levels,
/// so they need no second allocation, and the links a search follows most (the low levels,
/// where the nodes are many and cold in cache) sit next to the member being compared.
const INLINE_LEVELS: usize = 4;

/// One forward link of a node, in 32 bits per field so that four levels fit in the node's
/// cache line (`MAX_MEMBERS` keeps every index and span below `NIL`).
#[derive(Clone, Copy, Debug)]
struct Link {
    /// The next node at this level, or `NIL`.
    forward: u32,
    /// How many elements the link jumps over (1 for a link to the very next node; for a `NIL`
    /// link, the number of elements after this node).
    span: u32,
}

impl Link {
    /// A link to node `forward` (or `NIL`) jumping over `span` elements; both are at most
    /// `NIL` because a set never holds more than `MAX_MEMBERS`.
    #[inline]
    fn new(forward: usize, span: usize) -> Link {
        Link {
            forward: forward as u32,
            span: span as u32,
        }
    }

    /// The next node at this level, or `NIL`.
    #[inline]
    fn next(self) -> usize {
        self.forward as usize
    }

    /// How many elements the link jumps over.
    #[inline]
    fn span(self) -> usize {
        self.span as usize
    }
}

/// A link to nothing (also fills the unused inline links of a low node).
const NO_LINK: Link = Link {
    forward: u32::MAX,
    span: 0,
};

/// The part of a skip-list node that a search reads: exactly one aligned cache line, so each
/// step of a search costs one memory access (Redis's costs a second one, the member's sds,
/// whenever scores tie).
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Node {
    /// The member (empty for the header and for freed slots).
    member: Key,
    /// The member's score.
    score: f64,
    /// Forward links of levels 0 to 3 (those above the node's level unused).
    low: [Link; INLINE_LEVELS],
}

/// The rest of a skip-list node, kept apart (same index, in `List::meta`) so that it does not
/// dilute the search's cache lines.
#[derive(Clone, Debug)]
struct Meta {
    /// The previous node at level 0, or `NIL` for the first one.
    backward: usize,
    /// Index of this node's entry in `ZSet::dict`; `NIL` for the header and freed slots.
    entry: usize,
    /// Forward links of levels 4 and up; empty (no allocation) for 255 nodes in 256.
    high: Box<[Link]>,
}

/// A new node for (score, member) with `level` levels of `NIL` links, and its `Meta`.
fn new_node(member: Key, score: f64, entry: usize, level: usize) -> (Node, Meta) {
    let node = Node {
        member,
        score,
        low: [NO_LINK; INLINE_LEVELS],
    };
    let meta = Meta {
        backward: NIL,
        entry,
        high: vec![NO_LINK; level.saturating_sub(INLINE_LEVELS)].into_boxed_slice(),
    };
    (node, meta)
}

/// The member of freed slots and of the header.
fn no_member() -> Key {
    Key::from(&b""[..])
}

/// The skip list proper: the node arena and its bookkeeping.
#[derive(Clone)]
struct List {
    /// The arena of searched parts; `nodes[HEAD]` is the header.
    nodes: Vec<Node>,
    /// The other parts, index for index with `nodes`.
    meta: Vec<Meta>,
    /// Free slots of the arena.
    free: Vec<usize>,
    /// Levels in use (at least 1).
    level: usize,
    /// The last node, or `NIL` when empty.
    tail: usize,
}

impl Default for List {
    fn default() -> Self {
        let (node, meta) = new_node(no_member(), 0.0, NIL, MAX_LEVEL);
        List {
            nodes: vec![node],
            meta: vec![meta],
            free: Vec::new(),
            level: 1,
            tail: NIL,
        }
    }
}

/// A sorted set.
#[derive(Clone)]
pub struct ZSet {
    /// Node index of each member, in insertion order (modulo `swap_remove`), hashed by the
    /// member's bytes: use only the raw-entry and index-based methods, never the key-based ones
    /// (they would hash the node index).
    dict: IndexMap<usize, ()>,
    /// The skip list.
    list: List,
    /// Whether Redis would hold this set in a listpack (see the module documentation).
    listpack: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            dict: IndexMap::new(),
            list: List::default(),
            listpack: true,
        }
    }
}

impl PartialEq for ZSet {
    /// Two sets are equal when they hold the same members with equal scores (the skip-list
    /// shape, which is random, does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(member, score)| (String::from_utf8_lossy(member), score)),
            )
            .finish()
    }
}

/// A score bound of a range query (`1.5`, `(1.5`, `-inf`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    /// The bound's value.
    pub value: f64,
    /// Whether the bound itself is excluded (`(`).
    pub exclusive: bool,
}

/// A score range `min..max` (ZRANGEBYSCORE, ZCOUNT, ZREMRANGEBYSCORE).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    /// The lower bound.
    pub min: ScoreBound,
    /// The upper bound.
    pub max: ScoreBound,
}

impl ScoreRange {
    /// Whether `score` is at or above the lower bound.
    pub fn above_min(&self, score: f64) -> bool {
        if self.min.exclusive {
            score > self.min.value
        } else {
            score >= self.min.value
        }
    }

    /// Whether `score` is at or below the upper bound.
    pub fn below_max(&self, score: f64) -> bool {
        if self.max.exclusive {
            score < self.max.value
        } else {
            score <= self.max.value
        }
    }

    /// Whether no score can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min.value > self.max.value
            || (self.min.value == self.max.value && (self.min.exclusive || self.max.exclusive))
    }
}

/// A bound of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`.
    Inclusive(Vec<u8>),
    /// `(member`.
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Compares the bound's position with the member `m`: `Less` if the bound sorts before it.
    fn cmp_member(&self, m: &[u8]) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match self {
            LexBound::Min => Ordering::Less,
            LexBound::Max => Ordering::Greater,
            LexBound::Inclusive(b) | LexBound::Exclusive(b) => b.as_slice().cmp(m),
        }
    }

    /// Whether the bound excludes its own value (`-` and `+` count as exclusive, as in Redis).
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }

    /// Orders two bounds by position, ignoring exclusivity.
    fn cmp_bound(&self, other: &LexBound) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self, other) {
            (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
            (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
            (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
            (
                LexBound::Inclusive(a) | LexBound::Exclusive(a),
                LexBound::Inclusive(b) | LexBound::Exclusive(b),
            ) => a.cmp(b),
        }
    }
}

/// A lexicographic range (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    /// The lower bound.
    pub min: LexBound,
    /// The upper bound.
    pub max: LexBound,
}

impl LexRange {
    /// Whether `m` is at or above the lower bound.
    pub fn above_min(&self, m: &[u8]) -> bool {
        match self.min.cmp_member(m) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => !self.min.exclusive(),
            std::cmp::Ordering::Greater => false,
        }
    }

    /// Whether `m` is at or below the upper bound.
    pub fn below_max(&self, m: &[u8]) -> bool {
        match self.max.cmp_member(m) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => !self.max.exclusive(),
            std::cmp::Ordering::Less => false,
        }
    }

    /// Whether no member can be in the range.
    pub fn is_empty(&self) -> bool {
        match self.min.cmp_bound(&self.max) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            std::cmp::Ordering::Less => false,
        }
    }
}

impl ZSet {
    /// Creates an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// The encoding Redis would report for this set: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.listpack {
            "listpack"
        } else {
            "skiplist"
        }
    }

    /// Whether Redis would hold this set in a listpack (small sets are scanned in one call).
    pub fn is_listpack(&self) -> bool {
        self.listpack
    }

    /// Switches a freshly built result set (ZUNIONSTORE, ZRANGESTORE, ...) to the listpack
    /// encoding when it is small enough, as Redis's `zsetConvertToListpackIfNeeded` does; and a
    /// set too big for a listpack to the skip list. Stored -0 scores become 0 in a listpack.
    pub fn settle_encoding(&mut self) {
        self.listpack = self.len() <= LISTPACK_MAX_ENTRIES
            && self.iter().all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE);
        if self.listpack {
            for node in self.list.nodes.iter_mut().skip(1) {
                if node.score == 0.0 {
                    node.score = 0.0;
                }
            }
        }
    }

    /// Marks the set as skip-list encoded (a result built in memory, never stored).
    pub fn set_skiplist_encoding(&mut self) {
        self.listpack = false;
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The score of `member`, in O(1).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(self.hash(member), member)
            .map(|(_, n)| self.list.nodes[n].score)
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(self.hash(member), member).is_some()
    }

    /// Every member with its score, in ascending (score, member) order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from_rank(0, false)
    }

    /// Members starting at 0-based `rank`, ascending, or descending when `rev` (ranks are
    /// always counted from the lowest score). Locating the start is O(log n).
    pub fn iter_from_rank(&self, rank: usize, rev: bool) -> Iter<'_> {
        let node = if rank < self.len() {
            self.list.node_at_rank(rank)
        } else {
            NIL
        };
        Iter {
            list: &self.list,
            node,
            rev,
            left: if node == NIL {
                0
            } else if rev {
                rank + 1
            } else {
                self.len() - rank
            },
        }
    }

    /// The member and score at 0-based `rank`, in O(log n).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len() {
            return None;
        }
        let node = self.list.nodes.get(self.list.node_at_rank(rank))?;
        Some((&node.member, node.score))
    }

    /// The member and score at dict index `index` (0..len, in no particular order), in O(1):
    /// for random picks and ZSCAN cursors.
    pub fn get_by_index(&self, index: usize) -> Option<(&[u8], f64)> {
        let (&n, _) = self.dict.get_index(index)?;
        let node = self.list.nodes.get(n)?;
        Some((&node.member, node.score))
    }

    /// The 0-based rank of `member` in ascending order, in O(log n).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.list.count_while(|s, m| less(s, m, score, member)))
    }

    /// The ranks `start..end` of the members whose score is in `range`, in O(log n).
    pub fn score_range_ranks(&self, range: &ScoreRange) -> (usize, usize) {
        if range.is_empty() {
            return (0, 0);
        }
        let start = self.list.count_while(|s, _| !range.above_min(s));
        let end = self.list.count_while(|s, _| range.below_max(s));
        (start, end.max(start))
    }

    /// The ranks `start..end` of the members in the lexicographic `range`, in O(log n). Like
    /// Redis, this assumes all members have the same score; otherwise the answer is some
    /// unspecified (but valid) rank interval.
    pub fn lex_range_ranks(&self, range: &LexRange) -> (usize, usize) {
        if range.is_empty() {
            return (0, 0);
        }
        let start = self.list.count_while(|_, m| !range.above_min(m));
        let end = self.list.count_while(|_, m| range.below_max(m));
        // With mixed scores the predicates need not split the list cleanly; like Redis's
        // `zslFirstInLexRange` / `zslLastInLexRange`, the ends found must themselves be inside.
        let first_inside = self
            .get_by_rank(start)
            .is_some_and(|(m, _)| range.below_max(m));
        let last_inside = end
            .checked_sub(1)
            .and_then(|r| self.get_by_rank(r))
            .is_some_and(|(m, _)| range.above_min(m));
        if !first_inside || !last_inside {
            return (start, start);
        }
        (start, end.max(start))
    }

    /// Sets the score of `member`, adding it if needed. Returns its previous score.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        self.upsert(member, |_| Some(score))
    }

    /// Looks `member` up once and sets its score to `decide(current score)` (`None` when it is
    /// absent); `decide` returning `None` leaves the set as it is. Returns the previous score.
    /// ZADD's flags (NX, XX, GT, LT, INCR) need the current score before writing, and this
    /// spares them a second hash and probe.
    pub fn upsert(
        &mut self,
        member: &[u8],
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) -> Option<f64> {
        let hash = self.hash(member);
        let nodes = &self.list.nodes;
        // One probe of the hash index both finds an existing member and reserves the place of
        // a new one.
        let entry = self.dict.raw_entry_mut_v1().from_hash(hash, |&n| {
            nodes.get(n).is_some_and(|x| *x.member == *member)
        });
        let vacant = match entry {
            RawEntryMut::Occupied(e) => {
                let n = *e.key();
                let old = self.list.nodes[n].score;
                let mut score = decide(Some(old))?;
                debug_assert!(!score.is_nan(), "NaN scores never get here");
                if self.listpack && score == 0.0 {
                    // A listpack stores the score as text, and Redis's text for -0 reads back
                    // as 0.
                    score = 0.0;
                }
                self.list.update_score(n, member, score, self.dict.len());
                return Some(old);
            }
            RawEntryMut::Vacant(v) => v,
        };
        let mut score = decide(None)?;
        debug_assert!(!score.is_nan(), "NaN scores never get here");
        let len = vacant.index();
        // Like `Vec`'s capacity overflow: memory runs out long before (see `MAX_MEMBERS`).
        assert!(len < MAX_MEMBERS, "sorted set capacity overflow");
        if self.listpack && (len >= LISTPACK_MAX_ENTRIES || member.len() > LISTPACK_MAX_VALUE) {
            self.listpack = false;
        }
        if self.listpack && score == 0.0 {
            score = 0.0;
        }
        // The new entry's index is `len`; all `len` current members are linked.
        let n = self.list.link_new(score, Key::from(member), len, len);
        vacant.insert_hashed_nocheck(hash, n, ());
        None
    }

    /// Removes `member`. Returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, n) = self.find(self.hash(member), member)?;
        let score = self.list.nodes[n].score;
        let (update, _) = self.list.find_update(score, member);
        self.list.unlink(n, &update);
        self.forget(n);
        self.maybe_compact();
        Some(score)
    }

    /// Removes the members at ranks `start..end` (clamped to the set), calling `removed` with
    /// each one in ascending order. Returns how many were removed. O(log n + removed).
    pub fn remove_rank_range(
        &mut self,
        start: usize,
        end: usize,
        mut removed: impl FnMut(&[u8], f64),
    ) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        // The predecessors at each level of the node at `start`; they stay the predecessors
        // of every following node as those are deleted one after the other.
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0;
        let mut x = HEAD;
        for i in (0..self.list.level).rev() {
            loop {
                let link = self.list.link(x, i);
                if link.next() != NIL && traversed + link.span() <= start {
                    traversed += link.span();
                    x = link.next();
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let mut x = self.list.nodes[x].low[0].next();
        let mut count = 0;
        while x != NIL && count < end - start {
            let next = self.list.nodes[x].low[0].next();
            self.list.unlink(x, &update);
            removed(&self.list.nodes[x].member, self.list.nodes[x].score);
            self.forget(x);
            count += 1;
            x = next;
        }
        self.maybe_compact();
        count
    }

    /// Removes and returns the member with the lowest (`max == false`) or highest score.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let rank = if max { self.len().checked_sub(1)? } else { 0 };
        let mut out = None;
        self.remove_rank_range(rank, rank + 1, |m, s| out = Some((m.to_vec(), s)));
        out
    }

    /// The hash of `member` in `dict`.
    fn hash(&self, member: &[u8]) -> u64 {
        self.dict.hasher().hash_one(member)
    }

    /// The dict index and node of `member`, whose hash is `hash`.
    fn find(&self, hash: u64, member: &[u8]) -> Option<(usize, usize)> {
        let nodes = &self.list.nodes;
        self.dict
            .raw_entry_v1()
            .from_hash_full(hash, |&n| {
                nodes.get(n).is_some_and(|x| *x.member == *member)
            })
            .map(|(index, &n, _)| (index, n))
    }

    /// Frees unlinked node `x` and removes its entry from the dict.
    fn forget(&mut self, x: usize) {
        let entry = self.list.meta[x].entry;
        self.dict.swap_remove_index(entry);
        // The last entry moved into the hole: its node must learn its new index.
        if let Some((&moved, _)) = self.dict.get_index(entry) {
            self.list.meta[moved].entry = entry;
        }
        self.list.release(x);
    }

    /// Rebuilds the arena without holes once more than half of it is free, so a set that
    /// shrank gives its memory back. Amortised O(1) per removal.
    fn maybe_compact(&mut self) {
        if self.is_empty() {
            // Like Redis, an emptied set keeps its encoding (it is deleted anyway).
            let listpack = self.listpack;
            *self = ZSet::default();
            self.listpack = listpack;
            return;
        }
        let list = &mut self.list;
        if list.free.len() < 64 || list.free.len() * 2 < list.nodes.len() {
            return;
        }
        let mut remap = vec![NIL; list.nodes.len()];
        let kept = list.nodes.len() - list.free.len();
        let mut nodes = Vec::with_capacity(kept);
        let mut meta = Vec::with_capacity(kept);
        for (old, (node, m)) in list.nodes.drain(..).zip(list.meta.drain(..)).enumerate() {
            if old == HEAD || m.entry != NIL {
                remap[old] = nodes.len();
                nodes.push(node);
                meta.push(m);
            }
        }
        let map = |i: usize| if i == NIL { NIL } else { remap[i] };
        for (node, m) in nodes.iter_mut().zip(meta.iter_mut()) {
            m.backward = map(m.backward);
            for link in node.low.iter_mut().chain(m.high.iter_mut()) {
                *link = Link::new(map(link.next()), link.span());
            }
        }
        for (slot, _) in self.dict.iter_mut2() {
            *slot = map(*slot);
        }
        list.tail = map(list.tail);
        list.nodes = nodes;
        list.meta = meta;
        list.free.clear();
    }

    /// Checks every structural invariant; for tests.
    #[cfg(test)]
    fn check(&self) {
        let nodes = &self.list.nodes;
        let mut n = nodes[HEAD].low[0].next();
        let mut count = 0;
        let mut prev = NIL;
        while n != NIL {
            count += 1;
            assert_eq!(self.list.meta[n].backward, prev);
            let member = &nodes[n].member;
            assert_eq!(
                self.find(self.hash(member), member),
                Some((self.list.meta[n].entry, n))
            );
            if prev != NIL {
                assert!(less(
                    nodes[prev].score,
                    &nodes[prev].member,
                    nodes[n].score,
                    member
                ));
            }
            prev = n;
            n = nodes[n].low[0].next();
        }
        assert_eq!(self.list.tail, prev);
        assert_eq!(count, self.len());
        for (rank, (m, _)) in self.iter().enumerate() {
            assert_eq!(self.rank(m), Some(rank));
        }
        for slot in &self.list.free {
            assert_eq!(self.list.meta[*slot].entry, NIL);
        }
    }
}

impl List {
    /// The forward link of node `x` at level `i` (which the node must reach).
    #[inline]
    fn link(&self, x: usize, i: usize) -> Link {
        match self.nodes[x].low.get(i) {
            Some(&link) => link,
            None => self.meta[x].high[i - INLINE_LEVELS],
        }
    }

    /// The forward link of node `x` at level `i`, for update.
    #[inline]
    fn link_mut(&mut self, x: usize, i: usize) -> &mut Link {
        match self.nodes[x].low.get_mut(i) {
            Some(link) => link,
            None => &mut self.meta[x].high[i - INLINE_LEVELS],
        }
    }

    /// Frees the slot of unlinked node `x`; returns its member.
    fn release(&mut self, x: usize) -> Key {
        let meta = &mut self.meta[x];
        meta.entry = NIL;
        meta.high = Box::new([]);
        self.free.push(x);
        std::mem::replace(&mut self.nodes[x].member, no_member())
    }

    /// Number of leading elements (in order) for which `pred(score, member)` holds; `pred` must
    /// hold for a prefix of the set and fail for the rest. O(log n).
    fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut rank = 0;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next() == NIL {
                    break;
                }
                let next = &self.nodes[link.next()];
                if !pred(next.score, &next.member) {
                    break;
                }
                rank += link.span();
                x = link.next();
            }
        }
        rank
    }

    /// The node at 0-based `rank` (< number of elements).
    fn node_at_rank(&self, rank: usize) -> usize {
        let target = rank + 1;
        let mut traversed = 0;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next() != NIL && traversed + link.span() <= target {
                    traversed += link.span();
                    x = link.next();
                } else {
                    break;
                }
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// For an element (score, member): at each level, the last node before it, and the rank
    /// crossed to reach that node.
    fn find_update(&self, score: f64, member: &[u8]) -> ([usize; MAX_LEVEL], [usize; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut x = HEAD;
        let mut crossed = 0;
        for i in (0..self.level).rev() {
            loop {
                let link = self.link(x, i);
                if link.next() == NIL {
                    break;
                }
                // Where the search goes if it turns down here: load that node now, so that
                // its cache miss overlaps the one of `next` instead of following it.
                if let Some(down) = i.checked_sub(1).and_then(|d| self.nodes[x].low.get(d)) {
                    if let Some(node) = self.nodes.get(down.next()) {
                        std::hint::black_box(node.score);
                    }
                }
                let next = &self.nodes[link.next()];
                if !less(next.score, &next.member, score, member) {
                    break;
                }
                crossed += link.span();
                x = link.next();
            }
            update[i] = x;
            rank[i] = crossed;
        }
        (update, rank)
    }

    /// Links a new node for (score, member) whose dict index is `entry`, when `linked`
    /// elements are in the list; returns its index.
    fn link_new(&mut self, score: f64, member: Key, entry: usize, linked: usize) -> usize {
        let (mut update, mut rank) = self.find_update(score, &member);
        let level = random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                let head = self.link(HEAD, i);
                *self.link_mut(HEAD, i) = Link::new(head.next(), linked);
            }
            self.level = level;
        }
        let (node, mut meta) = new_node(member, score, entry, level);
        meta.backward = if update[0] == HEAD { NIL } else { update[0] };
        let x = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                self.meta[slot] = meta;
                slot
            }
            None => {
                self.nodes.push(node);
                self.meta.push(meta);
                self.nodes.len() - 1
            }
        };
        for i in 0..level {
            let prev = self.link(update[i], i);
            *self.link_mut(x, i) = Link::new(prev.next(), prev.span() - (rank[0] - rank[i]));
            *self.link_mut(update[i], i) = Link::new(x, rank[0] - rank[i] + 1);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            let link = self.link_mut(u, i);
            *link = Link::new(link.next(), link.span() + 1);
        }
        match self.nodes[x].low[0].next() {
            NIL => self.tail = x,
            next => self.meta[next].backward = x,
        }
        x
    }

    /// Unlinks node `x` from the skip list, given its predecessors `update`.
    fn unlink(&mut self, x: usize, update: &[usize; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let link = self.link(u, i);
            if link.next() == x {
                let own = self.link(x, i);
                *self.link_mut(u, i) = Link::new(own.next(), link.span() + own.span() - 1);
            } else {
                *self.link_mut(u, i) = Link::new(link.next(), link.span().saturating_sub(1));
            }
        }
        let (forward, backward) = (self.nodes[x].low[0].next(), self.meta[x].backward);
        match forward {
            NIL => self.tail = backward,
            next => self.meta[next].backward = backward,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next() == NIL {
            self.level -= 1;
        }
    }

    /// Changes the score of node `n` (member `member`) in a set of `len` elements.
    fn update_score(&mut self, n: usize, member: &[u8], score: f64, len: usize) {
        let backward = self.meta[n].backward;
        let forward = self.nodes[n].low[0].next();
        // Still between its neighbours: the position does not change (Redis's fast path).
        if (backward == NIL || self.nodes[backward].score < score)
            && (forward == NIL || self.nodes[forward].score > score)
        {
            self.nodes[n].score = score;
            return;
        }
        let old = self.nodes[n].score;
        let (update, _) = self.find_update(old, member);
        self.unlink(n, &update);
        // Relink the node in its own slot (with a fresh random level, as Redis's
        // `zslUpdateScore` does): the dict entry keeps pointing at it.
        let entry = self.meta[n].entry;
        let key = self.release(n);
        let x = self.link_new(score, key, entry, len - 1);
        debug_assert_eq!(x, n, "the slot just freed is reused first");
    }
}

/// Whether (s1, m1) sorts strictly before (s2, m2).
fn less(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// A random level with P(level > k) = 0.25^k, at most `MAX_LEVEL`.
fn random_level() -> usize {
    let mut level = 1;
    let mut bits = crate::server::state::random_u64();
    let mut left = 8; // 64 random bits give 8 tries of 8 bits each.
    while level < MAX_LEVEL && (bits & 0xff) < LEVEL_P_256 {
        level += 1;
        bits >>= 8;
        left -= 1;
        if left == 0 {
            bits = crate::server::state::random_u64();
            left = 8;
        }
    }
    level
}

/// Members and scores in rank order, ascending or descending.
pub struct Iter<'a> {
    list: &'a List,
    node: usize,
    rev: bool,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.list.nodes.get(self.node)?;
        self.node = if self.rev {
            self.list.meta.get(self.node).map_or(NIL, |m| m.backward)
        } else {
            node.low[0].next()
        };
        self.left = self.left.saturating_sub(1);
        Some((&node.member, node.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(z: &ZSet) -> Vec<(String, f64)> {
        z.iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))
            .collect()
    }

    #[test]
    fn orders_by_score_then_member() {
        let mut z = ZSet::new();
        for (m, s) in [("c", 1.0), ("a", 2.0), ("b", 1.0), ("d", f64::NEG_INFINITY)] {
            assert_eq!(z.insert(m.as_bytes(), s), None);
        }
        z.check();
        assert_eq!(
            members(&z),
            vec![
                ("d".into(), f64::NEG_INFINITY),
                ("b".into(), 1.0),
                ("c".into(), 1.0),
                ("a".into(), 2.0)
            ]
        );
        assert_eq!(z.rank(b"a"), Some(3));
        assert_eq!(z.rank(b"x"), None);
        assert_eq!(z.get_by_rank(1), Some((&b"b"[..], 1.0)));
        assert_eq!(z.insert(b"a", -1.0), Some(2.0));
        z.check();
        assert_eq!(z.rank(b"a"), Some(1));
        assert_eq!(z.remove(b"d"), Some(f64::NEG_INFINITY));
        assert_eq!(z.remove(b"d"), None);
        z.check();
        let back: Vec<_> = z.iter_from_rank(2, true).map(|(m, _)| m.to_vec()).collect();
        assert_eq!(back, vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
    }

    #[test]
    fn a_searched_node_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Node>(), 64);
        assert_eq!(std::mem::align_of::<Node>(), 64);
    }

    #[test]
    fn zero_signs_compare_equal() {
        let mut z = ZSet::new();
        z.set_skiplist_encoding();
        z.insert(b"b", -0.0);
        z.insert(b"a", 0.0);
        z.check();
        assert_eq!(z.rank(b"a"), Some(0));
        assert!(z.score(b"b").is_some_and(|s| s.is_sign_negative()));
    }

    #[test]
    fn listpack_encoding_is_tracked_like_redis() {
        let mut z = ZSet::new();
        assert_eq!(z.encoding(), "listpack");
        // The listpack stores scores as text: -0 reads back as 0.
        z.insert(b"a", -0.0);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
        for i in 0..LISTPACK_MAX_ENTRIES - 1 {
            z.insert(format!("m{i}").as_bytes(), 1.0);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"one-too-many", 1.0);
        assert_eq!(z.encoding(), "skiplist");
        z.insert(b"b", -0.0);
        assert!(z.score(b"b").is_some_and(|s| s.is_sign_negative()));
        // The conversion is one way, as in Redis.
        while z.len() > 2 {
            z.pop(true);
        }
        assert_eq!(z.encoding(), "skiplist");
        let mut long = ZSet::new();
        long.insert(&[b'x'; LISTPACK_MAX_VALUE + 1], 1.0);
        assert_eq!(long.encoding(), "skiplist");
        let mut built = ZSet::new();
        built.set_skiplist_encoding();
        built.insert(b"z", -0.0);
        built.settle_encoding();
        assert_eq!(built.encoding(), "listpack");
        assert!(built.score(b"z").is_some_and(|s| s.is_sign_positive()));
    }

    #[test]
    fn ranges_by_score_and_lex() {
        let mut z = ZSet::new();
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            z.insert(m.as_bytes(), i as f64);
        }
        let r = |min, minex, max, maxex| ScoreRange {
            min: ScoreBound {
                value: min,
                exclusive: minex,
            },
            max: ScoreBound {
                value: max,
                exclusive: maxex,
            },
        };
        assert_eq!(z.score_range_ranks(&r(1.0, false, 3.0, false)), (1, 4));
        assert_eq!(z.score_range_ranks(&r(1.0, true, 3.0, true)), (2, 3));
        assert_eq!(z.score_range_ranks(&r(3.0, true, 3.0, false)), (0, 0));
        assert_eq!(z.score_range_ranks(&r(9.0, false, 10.0, false)), (5, 5));
        let all = r(f64::NEG_INFINITY, false, f64::INFINITY, false);
        assert_eq!(z.score_range_ranks(&all), (0, 5));
        let mut lex = ZSet::new();
        for m in ["a", "b", "c", "d", "e"] {
            lex.insert(m.as_bytes(), 0.0);
        }
        let range = LexRange {
            min: LexBound::Exclusive(b"a".to_vec()),
            max: LexBound::Inclusive(b"c".to_vec()),
        };
        assert_eq!(lex.lex_range_ranks(&range), (1, 3));
        let everything = LexRange {
            min: LexBound::Min,
            max: LexBound::Max,
        };
        assert_eq!(lex.lex_range_ranks(&everything), (0, 5));
        let reversed = LexRange {
            min: LexBound::Max,
            max: LexBound::Min,
        };
        assert_eq!(lex.lex_range_ranks(&reversed), (0, 0));
    }

    #[test]
    fn remove_rank_range_and_pop() {
        let mut z = ZSet::new();
        for i in 0..1000 {
            z.insert(format!("m{i:04}").as_bytes(), f64::from(i));
        }
        let mut seen = Vec::new();
        assert_eq!(
            z.remove_rank_range(10, 20, |m, _| seen.push(m.to_vec())),
            10
        );
        assert_eq!(seen.first().map(Vec::as_slice), Some(&b"m0010"[..]));
        z.check();
        assert_eq!(z.len(), 990);
        assert_eq!(z.pop(false), Some((b"m0000".to_vec(), 0.0)));
        assert_eq!(z.pop(true), Some((b"m0999".to_vec(), 999.0)));
        z.check();
        // Shrinking compacts the arena and keeps everything consistent.
        let n = z.len();
        assert_eq!(z.remove_rank_range(0, n - 3, |_, _| {}), n - 3);
        z.check();
        assert!(z.list.nodes.len() < 100);
        assert_eq!(z.len(), 3);
        while z.pop(false).is_some() {}
        assert!(z.is_empty());
        assert_eq!(z, ZSet::default());
    }

    #[test]
    fn clone_and_eq_compare_contents() {
        let mut a = ZSet::new();
        let mut b = ZSet::new();
        for i in 0..100 {
            a.insert(format!("{i}").as_bytes(), f64::from(i % 7));
            b.insert(format!("{}", 99 - i).as_bytes(), f64::from((99 - i) % 7));
        }
        assert_eq!(a, b);
        let c = a.clone();
        assert_eq!(a, c);
        b.insert(b"5", 100.0);
        assert_ne!(a, b);
    }

    /// Random operations against a simple sorted model.
    #[test]
    fn matches_a_sorted_vec_model() {
        let mut z = ZSet::new();
        let mut model: std::collections::HashMap<Vec<u8>, f64> = Default::default();
        for step in 0..20_000u64 {
            let r = crate::server::state::random_u64();
            let member = format!("m{}", r % 300).into_bytes();
            let score = ((r >> 20) % 50) as f64 - 25.0;
            match (r >> 40) % 5 {
                0 | 1 => assert_eq!(z.insert(&member, score), model.insert(member, score)),
                2 => assert_eq!(z.remove(&member), model.remove(&member)),
                3 => {
                    let start = ((r >> 8) % 40) as usize;
                    let end = start + ((r >> 16) % 5) as usize;
                    let mut sorted: Vec<_> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
                    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let mut got = Vec::new();
                    z.remove_rank_range(start, end, |m, _| got.push(m.to_vec()));
                    let want: Vec<_> = sorted
                        .iter()
                        .skip(start)
                        .take(end - start)
                        .map(|(_, m)| m.clone())
                        .collect();
                    assert_eq!(got, want);
                    for m in want {
                        model.remove(&m);
                    }
                }
                _ => {
                    let popped = z.pop(r & 1 == 1);
                    let mut sorted: Vec<_> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
                    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let gone = if r & 1 == 0 {
                        sorted.first()
                    } else {
                        sorted.last()
                    };
                    assert_eq!(popped, gone.map(|(s, m)| (m.clone(), *s)));
                    if let Some((_, m)) = gone.cloned() {
                        model.remove(&m);
                    }
                }
            }
            if step % 500 == 0 {
                z.check();
            }
            assert_eq!(z.len(), model.len());
        }
        z.check();
    }

    /// A large set stays usable in debug builds: every rank operation is O(log n).
    #[test]
    fn hundred_thousand_members() {
        const N: usize = 100_000;
        let mut z = ZSet::new();
        for i in 0..N {
            // Scores in a scrambled order, so inserts land all over the list.
            let s = ((i * 7919) % N) as f64;
            z.insert(format!("member:{i}").as_bytes(), s);
        }
        assert_eq!(z.len(), N);
        for probe in [0, 1, 12_345, N / 2, N - 1] {
            let (m, s) = z.get_by_rank(probe).map(|(m, s)| (m.to_vec(), s)).unwrap();
            assert_eq!(s, probe as f64);
            assert_eq!(z.rank(&m), Some(probe));
        }
        for i in (0..N).step_by(3) {
            z.insert(format!("member:{i}").as_bytes(), -(i as f64));
        }
        assert_eq!(z.remove_rank_range(1000, 2000, |_, _| {}), 1000);
        for i in (1..N).step_by(2) {
            z.remove(format!("member:{i}").as_bytes());
        }
        z.check();
    }
}
