//! The executor: rate-limited waves, retries, stale checks and the journal.

pub mod executor;
pub mod journal;
pub mod ops;
