//! Reply comparison for the differential test: normalisation of what is nondeterministic by
//! definition (order of unordered collections, TTLs measured at slightly different instants,
//! random picks, SCAN cursors), and the per-key dump used for membership checks and for the final
//! whole-dataset comparison.

use std::collections::BTreeSet;

use super::gen::{Norm, RandKind, ScanSpec};
use super::resp::{args, Conn, Value};

/// Sorts the elements of an unordered collection (array, set) or the entries of a map.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(xs) => {
            let mut xs = xs.clone();
            xs.sort();
            Value::Array(xs)
        }
        Value::Set(xs) => {
            let mut xs = xs.clone();
            xs.sort();
            Value::Set(xs)
        }
        Value::Map(m) => {
            let mut m = m.clone();
            m.sort();
            Value::Map(m)
        }
        other => other.clone(),
    }
}

/// Sorts a flat field/value array by pairs (a map is sorted by entries).
pub fn sorted_pairs(v: &Value) -> Value {
    match v {
        Value::Array(xs) if xs.len() % 2 == 0 => {
            let mut pairs: Vec<(Value, Value)> =
                xs.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            pairs.sort();
            Value::Array(pairs.into_iter().flat_map(|(a, b)| [a, b]).collect())
        }
        other => sorted(other),
    }
}

/// Compares two replies under `norm`. Errors are always compared exactly. Returns a reason on
/// mismatch.
pub fn compare(norm: &Norm, a: &Value, b: &Value) -> Result<(), String> {
    if a.is_error() || b.is_error() {
        return same(a, b);
    }
    match norm {
        Norm::Exact | Norm::Random(_) | Norm::Scan(_) | Norm::Lex(_) => same(a, b),
        Norm::Sorted => same(&sorted(a), &sorted(b)),
        Norm::SortedPairs => same(&sorted_pairs(a), &sorted_pairs(b)),
        Norm::Ttl(tol) => match (a, b) {
            (Value::Int(x), Value::Int(y)) if *x >= 0 && *y >= 0 => {
                if (x - y).abs() <= *tol {
                    Ok(())
                } else {
                    Err(format!("TTL-like values differ by more than {tol}"))
                }
            }
            _ => same(a, b),
        },
        Norm::Exec(norms) => match (a, b) {
            (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
                for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                    let n = norms.get(i).unwrap_or(&Norm::Exact);
                    compare(n, x, y).map_err(|e| format!("EXEC element {i}: {e}"))?;
                }
                Ok(())
            }
            _ => same(a, b),
        },
        Norm::Hello => {
            let proto = |v: &Value| {
                v.pairs().and_then(|ps| {
                    ps.into_iter()
                        .find(|(k, _)| k.as_bytes() == Some(b"proto"))
                        .map(|(_, v)| v)
                })
            };
            match (proto(a), proto(b)) {
                (Some(x), Some(y)) if x == y => Ok(()),
                (x, y) => Err(format!("HELLO proto differs: {x:?} vs {y:?}")),
            }
        }
    }
}

fn same(a: &Value, b: &Value) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err("replies differ".to_string())
    }
}

/// Everything observable about one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDump {
    /// TYPE reply.
    pub ty: Value,
    /// The full contents, in a canonical order for unordered types.
    pub content: Value,
    /// OBJECT ENCODING reply (Null for a missing key).
    pub encoding: Value,
    /// PTTL reply.
    pub pttl: Value,
}

impl KeyDump {
    /// The TYPE as text.
    pub fn type_name(&self) -> String {
        self.ty
            .as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// Compares two dumps; PTTL within two seconds.
    pub fn compare(&self, other: &KeyDump) -> Result<(), String> {
        if self.ty != other.ty {
            return Err("TYPE differs".into());
        }
        if self.content != other.content {
            return Err("contents differ".into());
        }
        if self.encoding != other.encoding {
            return Err("OBJECT ENCODING differs".into());
        }
        compare(&Norm::Ttl(2000), &self.pttl, &other.pttl).map_err(|e| format!("PTTL: {e}"))
    }

    /// Whether this is a sorted set whose scores are not all equal (lex ranges unspecified).
    pub fn mixed_scores(&self) -> bool {
        if self.type_name() != "zset" {
            return false;
        }
        let scores: BTreeSet<Value> = self.members().into_iter().map(|(_, s)| s).collect();
        scores.len() > 1
    }

    /// Members with their value (hash value, zset score) or Null (set members).
    pub fn members(&self) -> Vec<(Value, Value)> {
        match self.type_name().as_str() {
            "set" => self
                .content
                .elements()
                .unwrap_or(&[])
                .iter()
                .map(|m| (m.clone(), Value::Null))
                .collect(),
            "hash" | "zset" => self.content.pairs().unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl std::fmt::Display for KeyDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "type={} encoding={} pttl={} content={}",
            self.ty, self.encoding, self.pttl, self.content
        )
    }
}

/// Reads everything about `key` through `conn` (TYPE, the full read command, OBJECT ENCODING,
/// PTTL).
pub fn dump_key(conn: &mut Conn, key: &[u8]) -> Result<KeyDump, String> {
    let with_key = |parts: &[&str]| {
        let mut a = args(&parts[..1]);
        a.push(key.to_vec());
        a.extend(args(&parts[1..]));
        a
    };
    let ty = conn.call(&with_key(&["TYPE"]))?;
    let name = ty.as_bytes().map(|b| b.to_vec()).unwrap_or_default();
    let content = match name.as_slice() {
        b"string" => conn.call(&with_key(&["GET"]))?,
        b"list" => conn.call(&with_key(&["LRANGE", "0", "-1"]))?,
        b"set" => sorted(&conn.call(&with_key(&["SMEMBERS"]))?),
        b"hash" => sorted_pairs(&conn.call(&with_key(&["HGETALL"]))?),
        b"zset" => conn.call(&with_key(&["ZRANGE", "0", "-1", "WITHSCORES"]))?,
        _ => Value::Null,
    };
    let encoding = if name.as_slice() == b"none" {
        Value::Null
    } else {
        // The key goes after the subcommand (`with_key` would put it before).
        let mut argv = args(&["OBJECT", "ENCODING"]);
        argv.push(key.to_vec());
        conn.call(&argv)?
    };
    let pttl = conn.call(&with_key(&["PTTL"]))?;
    Ok(KeyDump {
        ty,
        content,
        encoding,
        pttl,
    })
}

/// Checks a random pick against the key's contents (`dump`, taken before SPOP and after the
/// read-only commands). Returns a reason when the reply cannot be right.
pub fn validate_random(
    kind: RandKind,
    argv: &[Vec<u8>],
    reply: &Value,
    dump: &KeyDump,
) -> Result<(), String> {
    let members = dump.members();
    let exists = dump.type_name() != "none";
    let find = |m: &Value| members.iter().find(|(x, _)| x == m).map(|(_, v)| v.clone());
    let Some(count_arg) = argv.get(2) else {
        // Single pick: null exactly when the key is missing, else one member.
        if reply.is_null() {
            return if exists {
                Err("null reply for an existing key".into())
            } else {
                Ok(())
            };
        }
        if !exists {
            return Err("a pick from a missing key".into());
        }
        return match find(reply) {
            Some(_) => Ok(()),
            None => Err(format!("{reply} is not a member")),
        };
    };
    let count: i64 = std::str::from_utf8(count_arg)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("count did not parse but the reply is not an error")?;
    if reply.is_null() && !exists {
        return Ok(());
    }
    let with_values = argv.len() >= 4;
    let picked: Vec<(Value, Option<Value>)> = if with_values {
        reply
            .pairs()
            .ok_or("WITH... reply is not made of pairs")?
            .into_iter()
            .map(|(m, v)| (m, Some(v)))
            .collect()
    } else {
        reply
            .elements()
            .ok_or("reply is not an array")?
            .iter()
            .map(|m| (m.clone(), None))
            .collect()
    };
    for (m, v) in &picked {
        let Some(actual) = find(m) else {
            return Err(format!("{m} is not a member"));
        };
        if let Some(v) = v {
            if *v != actual {
                return Err(format!("{m} comes with {v}, but the key holds {actual}"));
            }
        }
    }
    let card = members.len() as i64;
    let expected = if !exists {
        0
    } else if count >= 0 {
        count.min(card)
    } else {
        count.saturating_neg()
    };
    if picked.len() as i64 != expected {
        return Err(format!(
            "{} elements picked, expected {expected} (count {count}, {card} members)",
            picked.len()
        ));
    }
    if count >= 0 || kind == RandKind::SPop {
        let distinct: BTreeSet<&Value> = picked.iter().map(|(m, _)| m).collect();
        if distinct.len() != picked.len() {
            return Err("repeated elements where they must be distinct".into());
        }
    }
    Ok(())
}

/// The outcome of a full scan: the error of the first call, or every element seen.
#[derive(Debug, PartialEq, Eq)]
pub enum ScanResult {
    /// The server refused the command.
    Error(Value),
    /// Every element (or field/value pair) returned over the whole iteration.
    Elements(BTreeSet<(Value, Value)>),
}

/// Runs a SCAN-family iteration to the end and collects what it returned.
pub fn full_scan(conn: &mut Conn, spec: &ScanSpec) -> Result<ScanResult, String> {
    let mut cursor = b"0".to_vec();
    let mut seen = BTreeSet::new();
    for _ in 0..100_000 {
        let mut argv = vec![spec.cmd.as_bytes().to_vec()];
        argv.extend(spec.key.clone());
        argv.push(cursor.clone());
        argv.extend(spec.opts.clone());
        let reply = conn.call(&argv)?;
        if reply.is_error() {
            return Ok(ScanResult::Error(reply));
        }
        let parts = reply
            .elements()
            .ok_or_else(|| format!("scan reply is not an array: {reply}"))?;
        let (Some(next), Some(items)) = (parts.first(), parts.get(1)) else {
            return Err(format!("scan reply has the wrong shape: {reply}"));
        };
        let next = next
            .as_bytes()
            .ok_or_else(|| format!("scan cursor is not a string: {reply}"))?
            .to_vec();
        if spec.pairs {
            let pairs = items
                .pairs()
                .ok_or_else(|| format!("scan items are not pairs: {reply}"))?;
            seen.extend(pairs);
        } else {
            let items = items
                .elements()
                .ok_or_else(|| format!("scan items are not an array: {reply}"))?;
            seen.extend(items.iter().map(|i| (i.clone(), Value::Null)));
        }
        if next == b"0" {
            return Ok(ScanResult::Elements(seen));
        }
        cursor = next;
    }
    Err("scan did not finish within 100000 calls".into())
}
