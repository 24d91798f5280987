//! Tests of the writer and its fsync worker over the fault-injecting [`SimFile`]: reply gating
//! per policy, power loss (`always` loses nothing acknowledged, `everysec` at most its window),
//! group commit without blocking the data thread, ENOSPC and recovery, failed fsyncs.

use super::*;
use crate::aof::file::{CrashMode, SimFile};
use crate::aof::loader::{AofReader, Item};
use crate::aof::MemoryLog;

const DEADLINE: Duration = Duration::from_secs(20);

fn config(policy: FsyncPolicy) -> WriterConfig {
    WriterConfig {
        policy,
        timestamps: false,
        everysec_interval: Duration::from_millis(20),
        max_unsynced_age: Duration::from_millis(200),
    }
}

fn open(policy: FsyncPolicy) -> (AofWriter, Arc<SimFile>, Arc<MemoryLog>) {
    let file = Arc::new(SimFile::new());
    let log = Arc::new(MemoryLog::new());
    let w = AofWriter::open(file.clone(), &config(policy), log.clone()).unwrap();
    (w, file, log)
}

fn set(i: u64) -> Vec<Vec<u8>> {
    vec![
        b"SET".to_vec(),
        format!("k{i}").into_bytes(),
        format!("v{i}").into_bytes(),
    ]
}

/// The ids of the SET records in `bytes`, up to the first incomplete or malformed record.
fn ids(bytes: &[u8]) -> Vec<u64> {
    let mut r = AofReader::new(bytes);
    let mut out = Vec::new();
    while let Ok(Some(item)) = r.next_item() {
        if let Item::Command(c) = item {
            if c.args[0] == b"SET" {
                let key = String::from_utf8(c.args[1].clone()).unwrap();
                out.push(key[1..].parse().unwrap());
            }
        }
    }
    out
}

fn wait_until(w: &mut AofWriter, mut cond: impl FnMut(&mut AofWriter) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        w.poll().unwrap();
        if cond(w) {
            return;
        }
        assert!(Instant::now() < deadline, "condition not reached in time");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Lets a held fdatasync finish when a test ends, even by a failed assertion (the writer's
/// drop joins the worker, which would otherwise wait forever).
struct Release(Arc<SimFile>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.hold_fsync(false);
    }
}

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn gates_track_own_and_seen() {
    let (mut w, file, _) = open(FsyncPolicy::No);
    let before = w.appended_end();
    let read_gate = w.gate(before);
    assert_eq!(read_gate, Gate { own: 0, seen: 0 });
    w.append_command(0, 0, &set(1));
    let g = w.gate(before);
    assert_eq!(g.own, g.seen);
    assert!(g.own > 0);
    assert!(!w.is_released(&g), "not written yet");
    w.flush().unwrap();
    assert!(w.is_released(&g));
    assert_eq!(ids(&file.contents()), [1]);
}

#[test]
fn records_start_with_select_and_follow_the_db() {
    let (mut w, file, _) = open(FsyncPolicy::No);
    w.append_command(0, 2, &set(1));
    w.append_unit(0, &[(2, set(2)), (3, set(3))], true);
    w.reset_db();
    w.append_command(0, 3, &set(4));
    w.flush().unwrap();
    let contents = file.contents();
    let mut r = AofReader::new(&contents[..]);
    let mut names = Vec::new();
    while let Ok(Some(Item::Command(c))) = r.next_item() {
        names.push(String::from_utf8(c.args.join(&b' ')).unwrap());
    }
    assert_eq!(
        names,
        [
            "SELECT 2",
            "SET k1 v1",
            "MULTI",
            "SET k2 v2",
            "SELECT 3",
            "SET k3 v3",
            "EXEC",
            "SELECT 3",
            "SET k4 v4"
        ]
    );
}

#[test]
fn always_releases_after_fsync_and_never_blocks_the_data_thread() {
    let (mut w, file, _) = open(FsyncPolicy::Always);
    let _release = Release(file.clone());
    let opened_syncs = file.fsyncs();
    file.hold_fsync(true);
    let before = w.appended_end();
    w.append_command(0, 0, &set(1));
    let g1 = w.gate(before);
    w.flush().unwrap();
    // The worker is now stuck in fdatasync; the data thread keeps going.
    let deadline = Instant::now() + DEADLINE;
    while !w.stats().fsync_in_flight {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut gates = vec![g1];
    for i in 2..50 {
        let before = w.appended_end();
        w.append_command(0, 0, &set(i));
        gates.push(w.gate(before));
        w.flush().unwrap();
    }
    // A read issued now waits for everything appended before it.
    let read = w.gate(w.appended_end());
    assert!(gates.iter().chain([&read]).all(|g| !w.is_released(g)));
    assert_eq!(
        file.writes(),
        49,
        "every iteration wrote while the sync was in flight"
    );
    file.hold_fsync(false);
    wait_until(&mut w, |w| {
        gates.iter().all(|g| w.is_released(g)) && w.is_released(&read)
    });
    // Group commit: the 48 writes made during the first sync share one more.
    assert!(file.fsyncs() - opened_syncs <= 3, "{} syncs", file.fsyncs());
    assert_eq!(file.durable_len(), file.contents().len() as u64);
}

/// Runs a writer under `policy`, crashing the file at a random moment; returns the ids that
/// were acknowledged (released) before the crash, with their write and ack times, the crash
/// time and the ids that survived.
fn run_and_crash(
    policy: FsyncPolicy,
    seed: u64,
    iterations: u64,
) -> (Vec<(u64, Instant, Instant)>, Instant, Vec<u64>) {
    let (mut w, file, _) = open(policy);
    let mut rng = Lcg(seed);
    let crash_at = 10 + rng.next(iterations);
    let mut next_id = 0u64;
    let mut pending: Vec<(Gate, Vec<u64>, Instant)> = Vec::new();
    let mut acked = Vec::new();
    for _ in 0..crash_at {
        // A few "clients" per iteration, one or two records each.
        let before_batch = Instant::now();
        for _ in 0..=rng.next(3) {
            let before = w.appended_end();
            let mut mine = Vec::new();
            for _ in 0..=rng.next(2) {
                w.append_command(0, 0, &set(next_id));
                mine.push(next_id);
                next_id += 1;
            }
            pending.push((w.gate(before), mine, before_batch));
        }
        w.flush().unwrap();
        let now = Instant::now();
        pending.retain(|(g, mine, written_at)| {
            if w.is_released(g) {
                acked.extend(mine.iter().map(|&id| (id, *written_at, now)));
                false
            } else {
                true
            }
        });
        if rng.next(4) == 0 {
            std::thread::sleep(Duration::from_micros(rng.next(2000)));
        }
    }
    let mode = if rng.next(2) == 0 {
        CrashMode::DropUnsynced
    } else {
        CrashMode::Tear(rng.next(40) as usize)
    };
    let crashed_at = Instant::now();
    let after = file.crash(mode);
    let survived = ids(&after);
    // What survives is always a prefix of what was issued: no reordering, nothing invented.
    assert_eq!(survived, (0..survived.len() as u64).collect::<Vec<_>>());
    (acked, crashed_at, survived)
}

#[test]
fn always_power_loss_loses_nothing_acknowledged() {
    for seed in 1..=8 {
        let (acked, _, survived) = run_and_crash(FsyncPolicy::Always, seed, 200);
        let kept = survived.len() as u64;
        for (id, _, _) in &acked {
            assert!(
                *id < kept,
                "seed {seed}: acknowledged id {id} lost (kept {kept})"
            );
        }
    }
}

#[test]
fn everysec_power_loss_loses_at_most_the_window() {
    let window = config(FsyncPolicy::EverySec).max_unsynced_age;
    // Scheduling slack on a loaded machine: between taking a write time and the flush.
    let slack = Duration::from_millis(100);
    for seed in 1..=4 {
        let (acked, _, survived) = run_and_crash(FsyncPolicy::EverySec, seed, 300);
        let kept = survived.len() as u64;
        let lost: Vec<_> = acked.iter().filter(|(id, _, _)| *id >= kept).collect();
        if let Some(oldest) = lost.iter().map(|(_, written, _)| *written).min() {
            for (id, _, acked_at) in &lost {
                assert!(
                    acked_at.duration_since(oldest) <= window + slack,
                    "seed {seed}: id {id} acknowledged {:?} after the oldest lost write",
                    acked_at.duration_since(oldest)
                );
            }
        }
    }
}

#[test]
fn everysec_window_holds_through_a_long_disk_stall() {
    let window = config(FsyncPolicy::EverySec).max_unsynced_age;
    let slack = Duration::from_millis(100);
    let (mut w, file, _) = open(FsyncPolicy::EverySec);
    let _release = Release(file.clone());
    let mut acked: Vec<(u64, Instant, Instant)> = Vec::new();
    let mut pending: Vec<(Gate, u64, Instant)> = Vec::new();
    let start = Instant::now();
    let mut id = 0;
    while start.elapsed() < Duration::from_millis(600) {
        if id == 20 {
            // The disk stops completing syncs for the rest of the run.
            file.hold_fsync(true);
        }
        let written_at = Instant::now();
        let before = w.appended_end();
        w.append_command(0, 0, &set(id));
        pending.push((w.gate(before), id, written_at));
        id += 1;
        w.flush().unwrap();
        let now = Instant::now();
        pending.retain(|(g, i, t)| {
            let released = w.is_released(g);
            if released {
                acked.push((*i, *t, now));
            }
            !released
        });
        std::thread::sleep(Duration::from_millis(1));
    }
    let survived = ids(&file.crash(CrashMode::DropUnsynced));
    file.hold_fsync(false);
    let kept = survived.len() as u64;
    let lost: Vec<_> = acked.iter().filter(|(i, _, _)| *i >= kept).collect();
    assert!(
        !pending.is_empty(),
        "replies were held once the window was full"
    );
    let oldest = lost.iter().map(|(_, t, _)| *t).min();
    for (i, _, acked_at) in &lost {
        let after = acked_at.duration_since(oldest.unwrap());
        assert!(
            after <= window + slack,
            "id {i} acknowledged {after:?} after the oldest loss"
        );
    }
}

#[test]
fn everysec_holds_replies_while_the_disk_stalls() {
    let (mut w, file, _) = open(FsyncPolicy::EverySec);
    let _release = Release(file.clone());
    file.hold_fsync(true);
    let before = w.appended_end();
    w.append_command(0, 0, &set(1));
    let a = w.gate(before);
    w.flush().unwrap();
    assert!(w.is_released(&a), "written and young: acknowledged");
    std::thread::sleep(Duration::from_millis(260));
    let before = w.appended_end();
    w.append_command(0, 0, &set(2));
    let b = w.gate(before);
    w.flush().unwrap();
    let read = w.gate(w.appended_end());
    assert!(!w.is_released(&b), "the unsynced window is full");
    assert!(!w.is_released(&read));
    let stats = w.stats();
    assert!(stats.unsynced_age.unwrap() > Duration::from_millis(200));
    assert!(stats.unsynced_bytes > 0);
    // A power loss now loses A (acknowledged within the window) and B (never acknowledged).
    file.hold_fsync(false);
    wait_until(&mut w, |w| w.is_released(&b) && w.is_released(&read));
    assert_eq!(w.stats().unsynced_bytes, 0);
    assert!(w.stats().fsync_latency_max >= Duration::from_millis(200));
}

#[test]
fn enospc_then_recovery() {
    let (mut w, file, log) = open(FsyncPolicy::EverySec);
    w.append_command(0, 0, &set(0));
    w.flush().unwrap();
    let base = file.contents().len() as u64;
    file.set_space_limit(Some(base + 30));
    let before = w.appended_end();
    for i in 1..4 {
        w.append_command(0, 0, &set(i));
    }
    let write = w.gate(before);
    let expected = w.stats().buffer_len;
    w.flush().unwrap();
    assert!(log.contains(&format!(
        "Short write while writing to the AOF file: (nwritten=30, expected={expected})"
    )));
    assert_eq!(
        file.contents().len() as u64,
        base,
        "the partial record is cut away"
    );
    assert_eq!(
        w.misconf().as_deref(),
        Some("MISCONF Errors writing to the AOF file: No space left on device")
    );
    assert!(!w.stats().write_ok);
    assert_eq!(w.stats().buffer_len, expected);
    // Reads are answered; the write whose record is stuck is not acknowledged.
    let read = w.gate(w.appended_end());
    assert!(w.is_released(&read));
    assert!(!w.is_released(&write));
    // Retries fail quietly (the log is rate-limited)...
    w.tick().unwrap();
    assert_eq!(
        log.texts()
            .iter()
            .filter(|l| l.starts_with("Short write"))
            .count(),
        1
    );
    // ...until space returns.
    file.set_space_limit(None);
    w.tick().unwrap();
    assert!(log.contains("AOF write error looks solved, Redis can write again."));
    assert!(w.misconf().is_none());
    assert!(w.is_released(&write));
    wait_until(&mut w, |w| w.stats().unsynced_bytes == 0);
    assert_eq!(ids(&file.crash(CrashMode::DropUnsynced)), [0, 1, 2, 3]);
}

#[test]
fn write_error_without_bytes_reports_the_errno() {
    let (mut w, file, log) = open(FsyncPolicy::No);
    file.fail_next_write(libc::EIO);
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    assert!(log.contains("Error writing to the AOF file: Input/output error"));
    assert_eq!(
        w.misconf().as_deref(),
        Some("MISCONF Errors writing to the AOF file: Input/output error")
    );
    w.flush().unwrap();
    assert!(w.misconf().is_none());
    assert_eq!(ids(&file.contents()), [1]);
}

#[test]
fn short_write_that_cannot_be_cut_is_accounted() {
    let (mut w, file, log) = open(FsyncPolicy::EverySec);
    file.set_space_limit(Some(10));
    file.fail_truncate(Some(libc::EIO));
    w.append_command(0, 0, &set(1));
    let total = w.stats().buffer_len;
    w.flush().unwrap();
    assert!(log.contains(
        "Could not remove short write from the append-only file.  Redis may refuse to load the \
         AOF the next time it starts.  ftruncate: Input/output error"
    ) || log.contains("Short write while writing"));
    assert_eq!(file.contents().len(), 10);
    assert_eq!(w.stats().buffer_len, total - 10);
    assert_eq!(w.stats().file_size, 10);
    file.set_space_limit(None);
    w.flush().unwrap();
    assert_eq!(ids(&file.contents()), [1], "the record is complete again");
}

#[test]
fn write_error_under_always_is_fatal() {
    let (mut w, file, log) = open(FsyncPolicy::Always);
    file.fail_next_write(libc::ENOSPC);
    let before = w.appended_end();
    w.append_command(0, 0, &set(1));
    let g = w.gate(before);
    let e = w.flush().unwrap_err();
    assert_eq!(
        e.message,
        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
    );
    assert!(log.contains("Error writing to the AOF file: No space left on device"));
    assert!(!w.is_released(&g));
}

#[test]
fn fsync_error_under_always_is_fatal() {
    let (mut w, file, _) = open(FsyncPolicy::Always);
    file.fail_next_fsync(libc::EIO);
    let before = w.appended_end();
    w.append_command(0, 0, &set(1));
    let g = w.gate(before);
    w.flush().unwrap();
    let deadline = Instant::now() + DEADLINE;
    let e = loop {
        match w.poll() {
            Err(e) => break e,
            Ok(()) => assert!(Instant::now() < deadline, "the failure was not reported"),
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(
        e.message,
        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': Input/output \
         error. Exiting..."
    );
    assert!(!w.is_released(&g), "never acknowledged");
}

#[test]
fn a_failed_fsync_is_repaired_not_trusted() {
    let (mut w, file, log) = open(FsyncPolicy::EverySec);
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    wait_until(&mut w, |w| w.stats().unsynced_bytes == 0);
    file.fail_next_fsync(libc::EIO);
    let before = w.appended_end();
    w.append_command(0, 0, &set(2));
    let g = w.gate(before);
    w.flush().unwrap();
    assert!(
        w.is_released(&g),
        "acknowledged under everysec before the sync ran"
    );
    wait_until(&mut w, |w| w.misconf().is_some());
    assert_eq!(
        w.misconf().as_deref(),
        Some("MISCONF Errors writing to the AOF file: Input/output error")
    );
    assert!(log.contains("Fail to fsync the AOF file: Input/output error"));
    assert!(log.contains("because the fsync that should have made them durable failed"));
    // Writing again and a new sync make it durable; only then writes are accepted again.
    wait_until(&mut w, |w| {
        w.flush().unwrap();
        w.misconf().is_none()
    });
    assert!(log.contains("AOF fsync error looks solved"));
    // Had the later sync been trusted, the SimFile would have lost the record (zeros).
    assert_eq!(ids(&file.crash(CrashMode::DropUnsynced)), [1, 2]);
    assert_eq!(w.stats().fsync_failures, 1);
}

#[test]
fn switching_to_always_syncs_the_pending_tail_first() {
    let (mut w, file, _) = open(FsyncPolicy::No);
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        w.stats().unsynced_bytes,
        w.stats().written,
        "`no` never syncs"
    );
    w.set_policy(FsyncPolicy::Always);
    let read = w.gate(w.appended_end());
    wait_until(&mut w, |w| w.is_released(&read));
    assert_eq!(file.durable_len(), file.contents().len() as u64);
}

#[test]
fn a_requested_sync_runs_under_no() {
    let (mut w, _, _) = open(FsyncPolicy::No);
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    w.request_sync();
    wait_until(&mut w, |w| w.stats().unsynced_bytes == 0);
}

#[test]
fn shutdown_syncs_whatever_the_policy() {
    let (mut w, file, log) = open(FsyncPolicy::No);
    for i in 0..5 {
        w.append_command(0, 0, &set(i));
    }
    w.shutdown().unwrap();
    assert!(log.contains("Calling fsync() on the AOF file."));
    assert_eq!(ids(&file.crash(CrashMode::DropUnsynced)), [0, 1, 2, 3, 4]);
}

#[test]
fn subscribe_fires_after_each_sync() {
    let (mut w, _, _) = open(FsyncPolicy::Always);
    let mut rx = w.subscribe();
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(DEADLINE, rx.changed())
            .await
            .unwrap()
            .unwrap();
    });
    w.poll().unwrap();
    assert_eq!(w.stats().unsynced_bytes, 0);
}

#[test]
fn switch_file_makes_the_old_file_durable_and_continues_offsets() {
    let (mut w, old, _log) = open(FsyncPolicy::Always);
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    let before_switch = w.appended_end();
    w.append_command(0, 0, &set(2));
    let gate = w.gate(before_switch);
    let new = Arc::new(SimFile::new());
    w.switch_file(new.clone()).unwrap();
    // Everything appended before the switch is in the old file and durable there.
    assert_eq!(ids(&old.crash(CrashMode::DropUnsynced)), vec![1, 2]);
    wait_until(&mut w, |w| w.is_released(&gate));
    // New records go to the new file only, starting with SELECT, at continuing offsets.
    let before = w.appended_end();
    assert!(before >= gate.seen);
    w.append_command(0, 0, &set(3));
    let gate = w.gate(before);
    w.flush().unwrap();
    wait_until(&mut w, |w| w.is_released(&gate));
    let contents = new.crash(CrashMode::DropUnsynced);
    assert!(contents.starts_with(b"*2\r\n$6\r\nSELECT\r\n"));
    assert_eq!(ids(&contents), vec![3]);
    assert_eq!(ids(&old.contents()), vec![1, 2]);
    assert_eq!(w.stats().file_size, contents.len() as u64);
}

#[test]
fn switch_file_is_refused_while_a_write_error_is_unresolved() {
    let (mut w, old, _log) = open(FsyncPolicy::EverySec);
    old.fail_writes(Some(libc::ENOSPC));
    w.append_command(0, 0, &set(1));
    w.flush().unwrap();
    assert!(w.switch_file(Arc::new(SimFile::new())).is_err());
    old.fail_writes(None);
    w.flush().unwrap();
    assert_eq!(ids(&old.contents()), vec![1]);
}
