//! Crash points for tests: in a debug build, `AOFD_FAILPOINT=<name>` in the environment makes the
//! process abort (as abruptly as a power cut or `kill -9`, no cleanup) when it reaches the point
//! of that name. The crash tests use it to stop the server at each step of finishing a rewrite
//! and check that the directory still loads. Release builds compile it to nothing.
//!
//! Points: `rewrite-temp-written` (the child's file is complete, nothing renamed),
//! `rewrite-renamed` (the new BASE is in place, the manifest still names the old one),
//! `rewrite-manifest-persisted` (the new manifest is on disk, history not yet deleted),
//! `rewrite-history-deleted` (history files removed, manifest not yet rewritten without them).
//! Data-directory migrations (`crate::migrate`, each README in `migrations/` says what the
//! state is at each point): `migrate-0001-dir-created`, `migrate-0001-manifest-persisted`,
//! `migrate-0001-renamed`, `migrate-0002-dir-created`, `migrate-0002-base-written`,
//! `migrate-0002-base-renamed`, `migrate-0002-verified`, `migrate-0002-manifest-persisted`,
//! `migrate-version-recorded`; `aofd import`: `import-base-written`, `import-base-renamed`,
//! `import-verified`, `import-manifest-persisted`.

/// The environment variable naming the point to crash at.
pub const ENV: &str = "AOFD_FAILPOINT";

/// Aborts the process if `name` is the configured crash point (debug builds only).
pub fn hit(name: &str) {
    #[cfg(debug_assertions)]
    {
        use std::sync::OnceLock;
        static POINT: OnceLock<Option<String>> = OnceLock::new();
        let point = POINT.get_or_init(|| std::env::var(ENV).ok());
        if point.as_deref() == Some(name) {
            eprintln!("aofd: crashing at failpoint {name}");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
