//! The `.ssmform/` directory under a configuration directory: ssmform's own local files (apply
//! journals, the embedded emulator's store). This module is the one place that knows its name and
//! layout; everything else asks it for paths.
//!
//! ```text
//! <config dir>/.ssmform/
//!   .gitignore        `*`: local state is never committed
//!   journal/<run>.jsonl
//!   local.db          the embedded emulator's store (endpoint = "local")
//! ```

use std::path::{Path, PathBuf};

/// The directory's name, under the configuration directory.
pub const STATE_DIR: &str = ".ssmform";

/// `<config_dir>/.ssmform`, whether or not it exists.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(STATE_DIR)
}

/// Where the embedded emulator keeps its store unless the provider block says otherwise.
pub fn default_local_store(config_dir: &Path) -> PathBuf {
    path(config_dir).join("local.db")
}

/// The directory of apply journals (not created).
pub fn journal_dir(config_dir: &Path) -> PathBuf {
    path(config_dir).join("journal")
}

/// Create `<config_dir>/.ssmform/` if needed, with a `.gitignore` that keeps it out of version
/// control (it holds journals and the embedded emulator's store: local state, never to be committed).
pub fn ensure(config_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = path(config_dir);
    std::fs::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(
            &ignore,
            "# Created by ssmform: local state (apply journals, the embedded emulator's store).\n\
             # Keep it out of version control; add `.ssmform/` to your own .gitignore too.\n*\n",
        )?;
    }
    Ok(dir)
}
