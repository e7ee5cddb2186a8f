//! The `.ssmform/` directory under a configuration directory: ssmform's own local files (apply
//! journals, the embedded emulator's store). This module is the one place that knows its name and
//! layout; everything else asks it for paths.
//!
//! ```text
//! <config dir>/.ssmform/      mode 0700
//!   .gitignore        `*`: local state is never committed
//!   journal/<run>.jsonl
//!   local.db          the embedded emulator's store (endpoint = "local")
//!   plan.key          the random plan key of endpoint = "local" (mode 0600)
//! ```
//!
//! Nothing a configuration names may read here (see `config::files`); every file and directory is
//! created owner-only from the start (see [`crate::privfile`]).

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

/// The random plan key of `endpoint = "local"` (see `workflow::local`).
pub fn local_plan_key(config_dir: &Path) -> PathBuf {
    path(config_dir).join("plan.key")
}

/// The directory of apply journals (not created).
pub fn journal_dir(config_dir: &Path) -> PathBuf {
    path(config_dir).join("journal")
}

/// Create `<config_dir>/.ssmform/` if needed, with a `.gitignore` that keeps it out of version
/// control (it holds journals and the embedded emulator's store: local state, never to be committed).
///
/// Errors name the path (`.ssmform is a file, not a directory`, `.ssmform/.gitignore: Permission
/// denied`).
pub fn ensure(config_dir: &Path) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    let dir = path(config_dir);
    if let Ok(meta) = std::fs::metadata(&dir)
        && !meta.is_dir()
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} is a file, not a directory; ssmform keeps its local state in a directory of that name (move the file away)",
                dir.display()
            ),
        ));
    }
    crate::privfile::create_dir_all(&dir)?;
    let gitignore = dir.join(".gitignore");
    match crate::privfile::create_new(&gitignore) {
        Ok(mut f) => f
            .write_all(
                b"# Created by ssmform: local state (apply journals, the embedded emulator's store).\n\
              # Keep it out of version control; add `.ssmform/` to your own .gitignore too.\n*\n",
            )
            .map_err(|e| crate::privfile::with_path(&gitignore, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(crate::privfile::with_path(&gitignore, e)),
    }
    Ok(dir)
}
