//! The process-death crash test of issue 3: under `appendfsync always`, several clients write
//! concurrently while the harness SIGKILLs aofd at random moments and restarts it on the same
//! directory. The oracle, checked after every restart: every acknowledged write is present, and
//! each client's recovered history is a prefix of what it issued (no gap, no reordering, nothing
//! that was never sent).
//!
//! Each client `i` issues steps 1, 2, 3, ... in order; step `s` is one transaction
//! `MULTI / RPUSH L:i s / INCR C:i / EXEC`, sent as one pipelined write. After a restart, `L:i`
//! must be exactly `1..=k` and `C:i` must be `k` (the transaction is all or nothing), with
//! `acked ≤ k ≤ issued`. The client then goes on from `k + 1`.
//!
//! `AOFD_CRASH_CYCLES` sets the number of kill/restart cycles (default 50, what CI runs);
//! `AOFD_CRASH_SEED` replays a run (the seed is printed).

mod aof_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aof_support::{Conn, Proc, Val};

const CLIENTS: usize = 4;

/// xorshift64*: the harness's random moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one client thread reports: the last step acknowledged and the last one sent.
struct Progress {
    acked: AtomicU64,
    issued: AtomicU64,
}

/// Writes steps `from..` until the connection breaks (the server was killed).
fn client(port: u16, i: usize, from: u64, progress: Arc<Progress>, stop: Arc<AtomicBool>) {
    let Ok(mut c) = Conn::try_connect(port, Duration::from_secs(10)) else {
        return;
    };
    c.set_timeout(Some(Duration::from_secs(20)));
    let (list, ctr) = (format!("L:{i}"), format!("C:{i}"));
    let mut step = from;
    while !stop.load(Ordering::Relaxed) {
        let s = step.to_string();
        let mut batch = aof_support::encode(&["MULTI"]);
        batch.extend(aof_support::encode(&["RPUSH", &list, &s]));
        batch.extend(aof_support::encode(&["INCR", &ctr]));
        batch.extend(aof_support::encode(&["EXEC"]));
        progress.issued.store(step, Ordering::SeqCst);
        if c.send_raw(&batch).is_err() {
            return;
        }
        let mut replies = Vec::new();
        for _ in 0..4 {
            match c.read() {
                Ok(v) => replies.push(v),
                Err(_) => return,
            }
        }
        // The server itself must agree with the client's history at every step.
        assert_eq!(
            replies[3],
            Val::Array(vec![Val::Int(step as i64), Val::Int(step as i64)]),
            "client {i} step {step}: {replies:?}"
        );
        progress.acked.store(step, Ordering::SeqCst);
        step += 1;
    }
}

/// Checks the oracle against a freshly restarted server; returns each client's recovered `k`.
fn verify(
    c: &mut Conn,
    acked: &[u64; CLIENTS],
    issued: &[u64; CLIENTS],
    cycle: usize,
) -> [u64; CLIENTS] {
    let mut recovered = [0u64; CLIENTS];
    for i in 0..CLIENTS {
        let list = match c.call(&["LRANGE", &format!("L:{i}"), "0", "-1"]) {
            Val::Array(items) => items.iter().map(Val::text).collect::<Vec<_>>(),
            other => panic!("LRANGE: {other:?}"),
        };
        let k = list.len() as u64;
        for (j, item) in list.iter().enumerate() {
            assert_eq!(
                item,
                &(j + 1).to_string(),
                "cycle {cycle} client {i}: the recovered history is not a prefix of the issued one"
            );
        }
        let ctr = match c.call(&["GET", &format!("C:{i}")]) {
            Val::Nil => 0,
            v => v.text().parse::<u64>().expect("counter"),
        };
        assert_eq!(ctr, k, "cycle {cycle} client {i}: a transaction was split");
        assert!(
            k >= acked[i],
            "cycle {cycle} client {i}: acknowledged step {} lost (recovered {k})",
            acked[i]
        );
        assert!(
            k <= issued[i],
            "cycle {cycle} client {i}: recovered {k} but only {} was sent",
            issued[i]
        );
        recovered[i] = k;
    }
    recovered
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged_under_always() {
    let cycles: usize = std::env::var("AOFD_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed = std::env::var("AOFD_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash test: {cycles} cycles, AOFD_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut acked = [0u64; CLIENTS];
    let mut issued = [0u64; CLIENTS];
    let mut total_acked = 0;
    for cycle in 0..=cycles {
        let mut p = Proc::aofd(tmp.path(), &["--appendfsync", "always"]);
        let mut c = p.conn();
        let recovered = verify(&mut c, &acked, &issued, cycle);
        if cycle == cycles {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut progress = Vec::new();
        for (i, k) in recovered.iter().enumerate() {
            let pr = Arc::new(Progress {
                acked: AtomicU64::new(*k),
                issued: AtomicU64::new(*k),
            });
            progress.push(pr.clone());
            let (port, stop) = (p.port, stop.clone());
            let from = k + 1;
            threads.push(std::thread::spawn(move || client(port, i, from, pr, stop)));
        }
        // A random moment: sometimes almost at once, sometimes well into the writes.
        std::thread::sleep(Duration::from_millis(5 + rng.below(150)));
        p.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("client thread");
        }
        for i in 0..CLIENTS {
            acked[i] = progress[i].acked.load(Ordering::SeqCst);
            issued[i] = progress[i].issued.load(Ordering::SeqCst);
            total_acked += acked[i] - recovered[i];
        }
    }
    println!("crash test: {total_acked} acknowledged transactions over {cycles} kills, none lost");
    assert!(total_acked > 0);
}
