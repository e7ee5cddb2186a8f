//! Every file ssmform reads because a configuration says so, read through one gate.
//!
//! A configuration under review is hostile: a merge request can commit a symbolic link
//! (`ci.hcl -> /proc/self/environ`), name any path in `file()`, or point at ssmform's own state.
//! [`Confined`] is the reader for all of it — the configuration files, `*.auto.vars.hcl`, and
//! `file()`/`filebase64()` — and holds the rules:
//!
//! - paths are relative to the configuration directory; absolute paths (and `~`) are refused;
//! - the path is resolved one component at a time, following symbolic links, and nothing outside
//!   the configuration directory and the operator's `--allow-read` entries is ever looked at: a
//!   step that would leave them stops there, so a configuration learns nothing about what exists
//!   elsewhere, and a link that leads out is refused **without being read**;
//! - nothing under a `.ssmform/` directory (journals, the local store, the local plan key) and not
//!   the embedded emulator's store wherever `local_store` puts it;
//! - only regular files: directories, FIFOs, sockets and devices are refused before they are
//!   opened (a FIFO would block), the file is opened with `O_NONBLOCK | O_NOFOLLOW | O_NOCTTY`,
//!   checked again on the open handle (`fstat`: still a regular file, the same inode, within the
//!   limit), and read with a hard cap in case it grows;
//! - a size limit per kind of file ([`MAX_CONFIG_FILE_BYTES`], [`MAX_FUNCTION_FILE_BYTES`]).
//!
//! `--var-file` paths are the operator's, so [`read_operator_file`] takes them as given (anywhere,
//! through links), but with the same file-type checks and limits.
//!
//! Errors ([`FileError`]) say why in words and never quote content; the caller decides how the
//! path is shown (it may be a sensitive value).

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::statedir::STATE_DIR;

/// The largest configuration file or variable file read (a configuration of 10,000 secrets in one
/// file is a few megabytes).
pub(crate) const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The largest file `file()`/`filebase64()` read. A secret holds at most 32 KB, so a larger file
/// is almost certainly the wrong file.
pub(crate) const MAX_FUNCTION_FILE_BYTES: u64 = 1024 * 1024;

/// How many symbolic links one path may go through.
const MAX_LINKS: usize = 40;

/// What a read returned.
#[derive(Debug)]
pub(crate) struct FileBytes {
    pub(crate) bytes: Vec<u8>,
    /// Read through an `--allow-read` entry, outside the configuration directory. Such content is
    /// sensitive whatever the block that reads it says (for the evaluator's sensitivity marks).
    #[allow(dead_code)]
    pub(crate) outside: bool,
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileError {
    /// The path is empty.
    Empty,
    /// An absolute path or one starting with `~`.
    NotRelative,
    /// Nothing at the path (inside the directory).
    NotFound,
    /// The path leads out of the configuration directory (and the allowed ones).
    Outside {
        /// It left through a symbolic link.
        through_link: bool,
    },
    /// The path is inside a `.ssmform/` directory.
    StateDir,
    /// The path is the embedded emulator's store (or one of its companion files).
    LocalStore,
    /// Not a regular file: "a directory", "a named pipe (FIFO)", ...
    NotRegular(&'static str),
    /// Larger than the limit.
    TooLarge { limit: u64 },
    /// The file was replaced or grew while it was read.
    Changed,
    /// More than [`MAX_LINKS`] symbolic links.
    TooManyLinks,
    /// An I/O error (its text: no content).
    Io(String),
}

impl FileError {
    /// The error as a sentence about `what` (how the caller shows the path: `` `notes.txt` ``,
    /// `cfg/ci.hcl`, or a description when the path itself is sensitive).
    pub(crate) fn describe(&self, what: &str) -> String {
        match self {
            FileError::Empty => "the path is empty".to_string(),
            FileError::NotRelative => format!(
                "{what} is not relative: file paths are relative to the configuration directory and may not leave it"
            ),
            FileError::NotFound => {
                format!("no such file: {what} (relative to the configuration directory)")
            }
            FileError::Outside {
                through_link: false,
            } => format!(
                "{what} is outside the configuration directory; file paths may not leave it"
            ),
            FileError::Outside { through_link: true } => format!(
                "{what} is a symbolic link that leads outside the configuration directory; it was not read"
            ),
            FileError::StateDir => format!(
                "{what} is inside {STATE_DIR}/, ssmform's own state (journals, the local store, the local plan key), which configurations may not read"
            ),
            FileError::LocalStore => format!(
                "{what} is the embedded emulator's store (`local_store`), which configurations may not read"
            ),
            FileError::NotRegular(kind) => {
                format!("{what} is {kind}, not a regular file; only regular files are read")
            }
            FileError::TooLarge { limit } => {
                format!("{what} is larger than {limit} bytes, the most read from one such file")
            }
            FileError::Changed => {
                format!("{what} changed while it was being read; it was not used")
            }
            FileError::TooManyLinks => {
                format!("{what} goes through more than {MAX_LINKS} symbolic links")
            }
            FileError::Io(e) => format!("cannot read {what}: {e}"),
        }
    }

    /// What to do about it, when there is something to say.
    pub(crate) fn help(&self) -> Option<&'static str> {
        match self {
            FileError::NotRelative | FileError::Outside { .. } => {
                Some("to read files elsewhere, run ssmform with --allow-read DIR")
            }
            FileError::StateDir | FileError::LocalStore => {
                Some("keep the files a configuration reads outside .ssmform/ and the local store")
            }
            FileError::NotRegular(_) => Some("name a regular file"),
            _ => None,
        }
    }
}

/// The reader for everything a configuration names: its directory, what the operator allowed
/// beyond it, and what is never read.
#[derive(Debug, Clone)]
pub(crate) struct Confined {
    /// The configuration directory as given.
    dir: PathBuf,
    /// The configuration directory, canonical; `None` when it cannot be resolved (every read then
    /// fails with that error).
    base: Result<PathBuf, String>,
    /// `--allow-read` entries, canonical (directories or single files).
    allow: Vec<PathBuf>,
    /// The embedded emulator's store, as (canonical directory, file name): that file and its
    /// companions (`-wal`, `-shm`, `-journal`) are never read.
    stores: Vec<(PathBuf, String)>,
}

impl Confined {
    /// A reader confined to `dir` alone.
    pub(crate) fn new(dir: &Path) -> Confined {
        Confined {
            dir: dir.to_path_buf(),
            base: dir.canonicalize().map_err(|e| {
                format!(
                    "cannot resolve the configuration directory {}: {e}",
                    dir.display()
                )
            }),
            allow: Vec::new(),
            stores: Vec::new(),
        }
    }

    /// A reader confined to `dir` and the `allow` entries (paths as the operator gave them). An
    /// entry that does not exist is an error naming it.
    pub(crate) fn with_allowed(dir: &Path, allow: &[PathBuf]) -> Result<Confined, String> {
        let mut c = Confined::new(dir);
        for a in allow {
            let canonical = a.canonicalize().map_err(|e| {
                format!("--allow-read {}: cannot resolve the path: {e}", a.display())
            })?;
            c.allow.push(canonical);
        }
        Ok(c)
    }

    /// The configuration directory as given.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Never read `store` (the embedded emulator's database) or its companion files.
    pub(crate) fn deny_store(&mut self, store: &Path) {
        let (Some(parent), Some(name)) = (store.parent(), store.file_name()) else {
            return;
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(p) = parent.canonicalize() {
            self.stores.push((p, name.to_string_lossy().into_owned()));
        }
    }

    /// Reads the file at `written` (a path from the configuration, relative to its directory),
    /// at most `limit` bytes.
    pub(crate) fn read_path(&self, written: &str, limit: u64) -> Result<FileBytes, FileError> {
        if written.is_empty() {
            return Err(FileError::Empty);
        }
        let rel = Path::new(written);
        // An absolute path is accepted only under an `--allow-read` entry.
        if written.starts_with('~') || (rel.has_root() && self.allow.is_empty()) {
            return Err(FileError::NotRelative);
        }
        let (path, root) = self.resolve(rel)?;
        let base = self.base.as_ref().map_err(|e| FileError::Io(e.clone()))?;
        let outside = &root != base;
        self.refuse_private(&path, &root)?;
        read_regular(&path, limit, true).map(|bytes| FileBytes { bytes, outside })
    }

    /// Reads the directory entry `name` (a configuration file or `*.auto.vars.hcl`): a link
    /// is followed only as far as it stays inside.
    pub(crate) fn read_entry(&self, name: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        self.read_path(name, limit).map(|f| f.bytes)
    }

    /// Resolves `rel` against the configuration directory one component at a time, following
    /// symbolic links, never looking at anything outside the allowed roots. Returns the resolved
    /// path (no links left in it) and the root it is under.
    fn resolve(&self, rel: &Path) -> Result<(PathBuf, PathBuf), FileError> {
        let base = self.base.as_ref().map_err(|e| FileError::Io(e.clone()))?;
        let mut current = base.clone();
        let mut queue: std::collections::VecDeque<std::ffi::OsString> = rel
            .components()
            .map(|c| c.as_os_str().to_os_string())
            .collect();
        let mut links = 0;
        let mut via_link = false;
        while let Some(c) = queue.pop_front() {
            if c == "." || c.is_empty() {
                continue;
            }
            if c == ".." {
                current.pop();
                continue;
            }
            if c == "/" {
                current = PathBuf::from("/");
                continue;
            }
            let next = current.join(&c);
            if self.root_of(&next).is_none() && !self.leads_to_root(&next) {
                // Never look outside: not even whether something exists there.
                return Err(FileError::Outside {
                    through_link: via_link,
                });
            }
            let meta = match std::fs::symlink_metadata(&next) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(FileError::NotFound);
                }
                Err(e) if is_not_a_directory(&e) => {
                    // A file used as a directory: nothing there either.
                    return Err(FileError::NotFound);
                }
                Err(e) => return Err(FileError::Io(e.to_string())),
            };
            if meta.file_type().is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(FileError::TooManyLinks);
                }
                via_link = true;
                let target = std::fs::read_link(&next).map_err(|e| FileError::Io(e.to_string()))?;
                let mut rest: Vec<std::ffi::OsString> = target
                    .components()
                    .map(|c| match c {
                        Component::RootDir => std::ffi::OsString::from("/"),
                        other => other.as_os_str().to_os_string(),
                    })
                    .collect();
                rest.extend(queue.drain(..));
                queue = rest.into();
                continue;
            }
            current = next;
        }
        match self.root_of(&current) {
            Some(root) => Ok((current, root.to_path_buf())),
            None => Err(FileError::Outside {
                through_link: via_link,
            }),
        }
    }

    /// The allowed root `path` is under (the configuration directory first).
    fn root_of(&self, path: &Path) -> Option<&PathBuf> {
        let base = self.base.as_ref().ok()?;
        std::iter::once(base)
            .chain(self.allow.iter())
            .find(|r| path.starts_with(r))
    }

    /// Whether `path` is a directory on the way down to an allowed root (an absolute path to an
    /// `--allow-read` entry, or `../cfg/...`): looking at it reveals nothing the operator did not
    /// name.
    fn leads_to_root(&self, path: &Path) -> bool {
        self.base
            .iter()
            .chain(self.allow.iter())
            .any(|r| r.starts_with(path))
    }

    /// `.ssmform/` and the local store are ssmform's alone.
    fn refuse_private(&self, path: &Path, root: &Path) -> Result<(), FileError> {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let in_state_dir = rel.components().any(|c| {
            c.as_os_str()
                .to_string_lossy()
                .eq_ignore_ascii_case(STATE_DIR)
        });
        // The configuration directory's own `.ssmform/` also when reached from an allowed root
        // above it.
        let base_state = self.base.as_ref().ok().map(|b| b.join(STATE_DIR));
        if in_state_dir || base_state.is_some_and(|s| path.starts_with(s)) {
            return Err(FileError::StateDir);
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(());
        };
        let name = name.to_string_lossy();
        if self
            .stores
            .iter()
            .any(|(dir, store)| dir == parent && name.starts_with(store.as_str()))
        {
            return Err(FileError::LocalStore);
        }
        Ok(())
    }
}

/// Reads a file the operator named (`--var-file`): anywhere, through links, but only a regular
/// file of at most `limit` bytes, without blocking on a FIFO or a device.
pub(crate) fn read_operator_file(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    read_regular(path, limit, false)
}

/// The kind of a file that is not a regular file, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Checks that `path` is a regular file within `limit` before opening it, opens it without
/// blocking (and, with `no_follow`, without following a link put in its place), checks the open
/// handle again, and reads at most `limit` bytes.
fn read_regular(path: &Path, limit: u64, no_follow: bool) -> Result<Vec<u8>, FileError> {
    // A missing file inside the directory is `NotFound` ("relative to the configuration
    // directory"); a missing operator's file is described by the OS error.
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound if no_follow => FileError::NotFound,
        _ => FileError::Io(e.to_string()),
    };
    let before = if no_follow {
        std::fs::symlink_metadata(path)
    } else {
        std::fs::metadata(path)
    }
    .map_err(io)?;
    if !before.file_type().is_file() {
        return Err(FileError::NotRegular(kind_of(before.file_type())));
    }
    if before.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if no_follow {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = options.open(path).map_err(|e| {
        // ELOOP: a link was put where the checked file was.
        if is_loop(&e) {
            FileError::Changed
        } else {
            io(e)
        }
    })?;
    let after = file.metadata().map_err(io)?;
    if !after.file_type().is_file() {
        return Err(FileError::NotRegular(kind_of(after.file_type())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
            return Err(FileError::Changed);
        }
    }
    if after.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(after.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        zeroize::Zeroize::zeroize(&mut bytes);
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

fn is_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

fn is_not_a_directory(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotADirectory
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `root/cfg` (the configuration directory) and `root/outside.txt`.
    fn layout() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let cfg = root.path().join("cfg");
        std::fs::create_dir(&cfg).unwrap();
        std::fs::write(root.path().join("outside.txt"), "outside").unwrap();
        std::fs::write(cfg.join("inside.txt"), "inside").unwrap();
        (root, cfg)
    }

    fn read(c: &Confined, p: &str) -> Result<Vec<u8>, FileError> {
        c.read_path(p, 1024).map(|f| f.bytes)
    }

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn relative_paths_inside_the_directory_are_read() {
        let (_root, cfg) = layout();
        std::fs::create_dir(cfg.join("sub")).unwrap();
        std::fs::write(cfg.join("sub/x.txt"), "x").unwrap();
        let c = Confined::new(&cfg);
        assert_eq!(read(&c, "inside.txt").unwrap(), b"inside");
        assert_eq!(read(&c, "./sub/../sub/x.txt").unwrap(), b"x");
        assert_eq!(read(&c, "../cfg/inside.txt").unwrap(), b"inside");
        assert!(!c.read_path("inside.txt", 10).unwrap().outside);
        std::os::unix::fs::symlink("sub/x.txt", cfg.join("link.txt")).unwrap();
        assert_eq!(read(&c, "link.txt").unwrap(), b"x");
    }

    #[test]
    fn paths_out_of_the_directory_are_refused_and_nothing_outside_is_looked_at() {
        let (root, cfg) = layout();
        let c = Confined::new(&cfg);
        assert_eq!(read(&c, ""), Err(FileError::Empty));
        assert_eq!(read(&c, "/etc/hostname"), Err(FileError::NotRelative));
        assert_eq!(read(&c, "~/x"), Err(FileError::NotRelative));
        let out = Err(FileError::Outside {
            through_link: false,
        });
        assert_eq!(read(&c, "../outside.txt"), out);
        assert_eq!(read(&c, ".."), out);
        // Whether something exists outside is not revealed.
        assert_eq!(read(&c, "../no-such-file"), out);
        assert_eq!(read(&c, "../../../../etc/passwd"), out);
        // Links out, to something that exists or not: refused without being followed further.
        let link_out = Err(FileError::Outside { through_link: true });
        std::os::unix::fs::symlink(root.path().join("outside.txt"), cfg.join("a")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", cfg.join("ci.hcl")).unwrap();
        std::os::unix::fs::symlink("/no/such/place", cfg.join("b")).unwrap();
        std::os::unix::fs::symlink("..", cfg.join("up")).unwrap();
        assert_eq!(read(&c, "a"), link_out);
        assert_eq!(c.read_entry("ci.hcl", 1 << 20), link_out);
        assert_eq!(read(&c, "b"), link_out);
        assert_eq!(read(&c, "up/outside.txt"), link_out);
        assert_eq!(read(&c, "up/cfg/inside.txt").unwrap(), b"inside");
        assert!(
            FileError::Outside { through_link: true }
                .describe("cfg/ci.hcl")
                .contains("cfg/ci.hcl is a symbolic link that leads outside")
        );
    }

    #[test]
    fn link_loops_end() {
        let (_root, cfg) = layout();
        std::os::unix::fs::symlink("b", cfg.join("a")).unwrap();
        std::os::unix::fs::symlink("a", cfg.join("b")).unwrap();
        assert_eq!(
            read(&Confined::new(&cfg), "a"),
            Err(FileError::TooManyLinks)
        );
    }

    #[test]
    fn the_state_directory_and_the_local_store_are_never_read() {
        let (root, cfg) = layout();
        std::fs::create_dir_all(cfg.join(".ssmform/journal")).unwrap();
        std::fs::write(cfg.join(".ssmform/local.db"), "db").unwrap();
        std::fs::write(cfg.join(".ssmform/journal/r.jsonl"), "j").unwrap();
        std::os::unix::fs::symlink(".ssmform/local.db", cfg.join("db-link")).unwrap();
        let mut c = Confined::with_allowed(&cfg, &[root.path().to_path_buf()]).unwrap();
        for p in [
            ".ssmform/local.db",
            ".ssmform/journal/r.jsonl",
            "./.ssmform/../.ssmform/local.db",
            "db-link",
            "../cfg/.ssmform/local.db",
        ] {
            assert_eq!(read(&c, p), Err(FileError::StateDir), "{p}");
        }
        std::fs::create_dir(cfg.join("state")).unwrap();
        for f in ["emu.db", "emu.db-wal", "emu.db-shm"] {
            std::fs::write(cfg.join("state").join(f), "db").unwrap();
        }
        c.deny_store(&cfg.join("state/emu.db"));
        for p in ["state/emu.db", "state/emu.db-wal", "state/emu.db-shm"] {
            assert_eq!(read(&c, p), Err(FileError::LocalStore), "{p}");
        }
    }

    #[test]
    fn only_regular_files_are_read_and_a_fifo_does_not_block() {
        let (_root, cfg) = layout();
        mkfifo(&cfg.join("pipe"));
        std::fs::create_dir(cfg.join("dir")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(cfg.join("sock")).unwrap();
        let c = Confined::new(&cfg);
        assert_eq!(
            read(&c, "pipe"),
            Err(FileError::NotRegular("a named pipe (FIFO)"))
        );
        assert_eq!(read(&c, "dir"), Err(FileError::NotRegular("a directory")));
        assert_eq!(read(&c, "sock"), Err(FileError::NotRegular("a socket")));
        let dev = Confined::with_allowed(&cfg, &[PathBuf::from("/dev")]).unwrap();
        assert_eq!(
            read(&dev, "/dev/null"),
            Err(FileError::NotRegular("a character device"))
        );
        assert_eq!(
            read_operator_file(&cfg.join("pipe"), 10),
            Err(FileError::NotRegular("a named pipe (FIFO)"))
        );
        assert_eq!(
            read_operator_file(Path::new("/dev/zero"), 10),
            Err(FileError::NotRegular("a character device"))
        );
        assert!(matches!(
            read_operator_file(&cfg.join("missing"), 10),
            Err(FileError::Io(_))
        ));
        assert_eq!(
            read_operator_file(&cfg.join("inside.txt"), 10).unwrap(),
            b"inside"
        );
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        let (_root, cfg) = layout();
        let c = Confined::new(&cfg);
        assert_eq!(
            c.read_path("inside.txt", 5).map(|f| f.bytes),
            Err(FileError::TooLarge { limit: 5 })
        );
        assert_eq!(c.read_path("inside.txt", 6).unwrap().bytes, b"inside");
        // A sparse file far over the limit is refused by its size, unread.
        let big = std::fs::File::create(cfg.join("big")).unwrap();
        big.set_len(MAX_CONFIG_FILE_BYTES + 1).unwrap();
        assert_eq!(
            c.read_entry("big", MAX_CONFIG_FILE_BYTES),
            Err(FileError::TooLarge {
                limit: MAX_CONFIG_FILE_BYTES
            })
        );
        assert_eq!(
            read_operator_file(&cfg.join("big"), 100),
            Err(FileError::TooLarge { limit: 100 })
        );
    }

    #[test]
    fn allowed_paths_are_read_and_marked_outside() {
        let (root, cfg) = layout();
        std::fs::create_dir(root.path().join("common")).unwrap();
        std::fs::write(root.path().join("common/ca.pem"), "pem").unwrap();
        let shared = root.path().join("common");
        let c = Confined::with_allowed(&cfg, std::slice::from_ref(&shared)).unwrap();
        let f = c.read_path("../common/ca.pem", 100).unwrap();
        assert_eq!((f.bytes.as_slice(), f.outside), (&b"pem"[..], true));
        let absolute = shared.join("ca.pem");
        let f = c.read_path(absolute.to_str().unwrap(), 100).unwrap();
        assert!(f.outside);
        // Allowing one directory does not allow its neighbours.
        assert_eq!(
            read(&c, "../outside.txt"),
            Err(FileError::Outside {
                through_link: false
            })
        );
        assert_eq!(
            read(&c, root.path().join("outside.txt").to_str().unwrap()),
            Err(FileError::Outside {
                through_link: false
            })
        );
        // A link into an allowed directory is followed.
        std::os::unix::fs::symlink(shared.join("ca.pem"), cfg.join("ca.pem")).unwrap();
        assert!(c.read_path("ca.pem", 100).unwrap().outside);
        assert_eq!(
            read(&Confined::new(&cfg), "ca.pem"),
            Err(FileError::Outside { through_link: true })
        );
        assert!(
            Confined::with_allowed(&cfg, &[root.path().join("missing")])
                .unwrap_err()
                .contains("--allow-read")
        );
    }
}
