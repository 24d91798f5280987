//! The service's one-line status ("Applying data-directory migration 0001 ...", "Loading ..."):
//! the text an operator sees in `systemctl status`. Startup code calls [`announce`] at each long
//! step; the text is kept (for [`current`]) and sent to systemd as `STATUS=` (with a start
//! timeout extension: the step may be long) by `service::notify`.

use std::sync::Mutex;

/// The last status announced.
static CURRENT: Mutex<Option<String>> = Mutex::new(None);

/// Announces what the service is doing now, as one plain sentence. Does not log: callers log
/// their own lines (the status is a summary of them).
pub fn announce(text: &str) {
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some(text.to_string());
    }
    crate::service::notify::status_and_extend(text);
}

/// The last status announced, if any.
pub fn current() -> Option<String> {
    CURRENT.lock().ok().and_then(|c| c.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_last_text() {
        super::announce("Applying data-directory migration 0001");
        assert_eq!(
            super::current().as_deref(),
            Some("Applying data-directory migration 0001")
        );
    }
}
