//! A configuration directory bound to an emulator, and clean runs of the real binary in it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::apply::planned_addresses;
use super::emulator::{REGION, TestEmulator};
use super::leaks::Leaks;
use super::process::{Output, Running, shell_words, ssmform_bin, temp_dir};

/// The plan key every [`Workspace`] run uses, so fingerprints and plan-file MACs are repeatable.
pub const WORKSPACE_PLAN_KEY: &str = "ssmform-tests-plan-key";
/// The `SOURCE_DATE_EPOCH` every [`Workspace`] run uses (2023-11-14T22:13:20Z), so JSON
/// `@timestamp`s and plan files are repeatable.
pub const WORKSPACE_EPOCH: &str = "1700000000";

/// A temporary directory holding a configuration directory `cfg/` whose `provider.hcl` points at
/// a [`TestEmulator`], and a `home/` used as `HOME`; runs of the real binary in a clean
/// environment (nothing from the machine's environment but what is set here).
///
/// ```ignore
/// let emu = TestEmulator::unlimited();
/// let ws = Workspace::new(&emu).config(r#"secret "a" { ... }"#);
/// ws.run(["plan", "cfg", "--detailed-exitcode"]).assert_exit(2);
/// // or, as a user in the configuration directory:
/// let ws = Workspace::new(&emu).in_config_dir().config(CONFIG);
/// ws.run(["apply", "--auto-approve"]).assert_success();
/// ```
///
/// Every run gets the emulator's credentials (`TENCENTCLOUD_SECRET_ID`/`KEY`), `NO_COLOR=1`,
/// `SSMFORM_PLAN_KEY` = [`WORKSPACE_PLAN_KEY`] and `SOURCE_DATE_EPOCH` = [`WORKSPACE_EPOCH`];
/// change them with [`Workspace::env`] / [`Workspace::without_env`] /
/// [`Workspace::without_plan_key`]. Runs start in the root, so paths in messages read
/// `cfg/main.hcl:3:5`, unless [`Workspace::in_config_dir`] moves them into `cfg/`.
///
/// The workspace remembers the files the test wrote (configuration, variables files): every
/// other file under it is something a run left behind, which
/// [`Workspace::assert_no_leak_in_files`] searches for canaries.
pub struct Workspace {
    root: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// Where runs start, relative to the root.
    cwd: PathBuf,
    /// The provider block's endpoint, when the workspace has one.
    endpoint: Option<String>,
    /// Files the test wrote (absolute paths).
    inputs: RefCell<BTreeSet<PathBuf>>,
}

impl Workspace {
    /// A workspace whose provider block points at `emu` (region [`REGION`]).
    pub fn new(emu: &TestEmulator) -> Self {
        let mut ws = Self::bare();
        ws.endpoint = Some(emu.endpoint());
        ws.provider("");
        let c = emu.credential();
        ws.env("TENCENTCLOUD_SECRET_ID", &c.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", &c.secret_key)
    }

    /// A workspace without provider block or credentials (for `endpoint = "local"` and offline
    /// commands).
    pub fn bare() -> Self {
        let root = temp_dir();
        std::fs::create_dir_all(root.path().join("cfg")).expect("cfg dir");
        std::fs::create_dir_all(root.path().join("home")).expect("home dir");
        let mut env = BTreeMap::new();
        env.insert("NO_COLOR".to_string(), "1".to_string());
        env.insert(
            "SSMFORM_PLAN_KEY".to_string(),
            WORKSPACE_PLAN_KEY.to_string(),
        );
        env.insert("SOURCE_DATE_EPOCH".to_string(), WORKSPACE_EPOCH.to_string());
        Workspace {
            root,
            env,
            cwd: PathBuf::new(),
            endpoint: None,
            inputs: RefCell::new(BTreeSet::new()),
        }
    }

    /// Runs start in `cfg/` (the configuration directory is then `.`, the default).
    pub fn in_config_dir(mut self) -> Self {
        self.cwd = PathBuf::from("cfg");
        self
    }

    /// No `SSMFORM_PLAN_KEY`: plan files are keyed from the API secret key.
    pub fn without_plan_key(self) -> Self {
        self.without_env("SSMFORM_PLAN_KEY")
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The configuration directory, `root/cfg`.
    pub fn config_dir(&self) -> PathBuf {
        self.path("cfg")
    }

    /// Where runs start.
    pub fn working_dir(&self) -> PathBuf {
        self.root.path().join(&self.cwd)
    }

    /// Write `contents` to `root/rel`, creating directories; the file is an input.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        self.inputs.borrow_mut().insert(p);
        self
    }

    /// Write `cfg/main.hcl`.
    pub fn config(self, hcl: &str) -> Self {
        self.file("cfg/main.hcl", hcl);
        self
    }

    /// (Re)write `cfg/provider.hcl`: the block pointing at the emulator, with `extra` lines
    /// inside it (`rate_limits = { UpdateSecret = 20 }`).
    pub fn provider(&self, extra: &str) -> &Self {
        let endpoint = self
            .endpoint
            .as_deref()
            .expect("a workspace made with Workspace::new has a provider block");
        let mut block = format!(
            "provider \"tencentcloud\" {{\n  region   = \"{REGION}\"\n  endpoint = \"{endpoint}\"\n"
        );
        if !extra.is_empty() {
            block.push_str(extra);
            block.push('\n');
        }
        block.push_str("}\n");
        self.file("cfg/provider.hcl", block)
    }

    /// Rewrite the provider block with `provider_extra` inside it and `cfg/main.hcl` with `body`.
    pub fn write_config(&self, provider_extra: &str, body: &str) -> &Self {
        self.provider(provider_extra);
        self.file("cfg/main.hcl", body)
    }

    /// Copy every file under `fixture_dir` (recursively) into `cfg/`.
    pub fn config_from(self, fixture_dir: &Path) -> Self {
        fn copy(from: &Path, to: &Path, inputs: &mut BTreeSet<PathBuf>) {
            std::fs::create_dir_all(to).expect("create dir");
            for entry in std::fs::read_dir(from)
                .unwrap_or_else(|e| panic!("read fixture dir {}: {e}", from.display()))
            {
                let entry = entry.expect("dir entry");
                let target = to.join(entry.file_name());
                if entry.file_type().expect("file type").is_dir() {
                    copy(&entry.path(), &target, inputs);
                } else {
                    std::fs::copy(entry.path(), &target).expect("copy fixture file");
                    inputs.insert(target);
                }
            }
        }
        copy(
            fixture_dir,
            &self.path("cfg"),
            &mut self.inputs.borrow_mut(),
        );
        self
    }

    /// Count `root/rel` as an input the test made another way (an emulator store, say): the leak
    /// search skips it, and its SQLite companions (`rel-wal`, `rel-journal`...).
    pub fn mark_input(&self, rel: &str) -> &Self {
        self.inputs.borrow_mut().insert(self.path(rel));
        self
    }

    /// Whether `path` is a file the test wrote (or a companion of one, see
    /// [`Workspace::mark_input`]).
    pub fn is_input(&self, path: &Path) -> bool {
        let inputs = self.inputs.borrow();
        inputs.contains(path)
            || inputs.iter().any(|i| {
                path.to_str()
                    .zip(i.to_str())
                    .is_some_and(|(p, i)| p.strip_prefix(i).is_some_and(|r| r.starts_with('-')))
            })
    }

    /// Search every file under the workspace that the test did not write — plan files,
    /// `.ssmform/` (journals), anything under `home/` — for the canaries of `leaks`. Returns how
    /// many files were searched.
    #[track_caller]
    pub fn assert_no_leak_in_files(&self, leaks: &Leaks) -> usize {
        leaks.assert_tree_clean(self.root(), |p| self.is_input(p))
    }

    /// Set an environment variable for every run.
    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.insert(k.to_string(), v.into());
        self
    }

    /// Remove one of the default environment variables.
    pub fn without_env(mut self, k: &str) -> Self {
        self.env.remove(k);
        self
    }

    /// The command for `args`, in a clean environment, from the working directory.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(ssmform_bin());
        c.args(args)
            .env_clear()
            .env("HOME", self.path("home"))
            .envs(&self.env)
            .current_dir(self.working_dir())
            .stdin(Stdio::null());
        c
    }

    /// How a run reads in messages: `[cd DIR &&] [VAR=value...] ssmform ARGS`.
    fn command_line<I, S>(&self, dir: Option<&Path>, args: I, extra_env: &[(&str, &str)]) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let words = extra_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once("ssmform".to_string()))
            .chain(
                args.into_iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned()),
            );
        let line = shell_words(words);
        match dir {
            Some(d) => format!("cd {} && {line}", shell_words([d.to_string_lossy()])),
            None if self.cwd.as_os_str().is_empty() => line,
            None => format!("cd {} && {line}", self.cwd.display()),
        }
    }

    /// Run to completion with `extra_env` on top of the workspace's environment.
    pub fn run_with<I, S>(&self, args: I, extra_env: &[(&str, &str)]) -> Output
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let line = self.command_line(None, args.clone(), extra_env);
        let mut c = self.command(args);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        Output::of(line, c)
    }

    /// Run to completion.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        self.run_with(args, &[])
    }

    /// Run to completion under `umask` (through `sh -c 'umask ...; exec ssmform ...'`), to check
    /// the modes of the files a run creates whatever the caller's umask.
    pub fn run_with_umask<I, S>(&self, umask: u32, args: I) -> Output
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let line = format!(
            "umask {umask:03o} && {}",
            self.command_line(None, args.clone(), &[])
        );
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("umask {umask:03o} && exec \"$0\" \"$@\""))
            .arg(ssmform_bin())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .envs(&self.env)
            .current_dir(self.working_dir())
            .stdin(Stdio::null());
        Output::of(line, c)
    }

    /// Run to completion from `dir` instead of the working directory.
    pub fn run_in<I, S>(&self, dir: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let line = self.command_line(Some(dir), args.clone(), &[]);
        let mut c = self.command(args);
        c.current_dir(dir);
        Output::of(line, c)
    }

    /// Start in the background (see [`Running`]).
    pub fn start<I, S>(&self, args: I) -> Running
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        Running::start(
            self.command_line(None, args.clone(), &[]),
            self.command(args),
        )
    }

    /// Run with stdin, stdout and stderr on a pseudo-terminal (util-linux `script`), typing
    /// `input`. What the terminal showed (both streams, `\r\n` made `\n`) is in `stdout`.
    pub fn run_on_terminal(&self, args: &[&str], input: &str) -> Output {
        let bin = ssmform_bin().display().to_string();
        let command_line = shell_words(std::iter::once(bin.as_str()).chain(args.iter().copied()));
        let mut child = Command::new("script")
            .args(["-qec", &command_line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("TERM", "dumb")
            .envs(&self.env)
            .current_dir(self.working_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs (it provides the terminal)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().expect("script finishes");
        Output {
            command: format!(
                "{} (on a terminal, typing {input:?})",
                self.command_line(None, args, &[])
            ),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run with stdout on a new pseudo-terminal (stdin closed, stderr piped); `TERM` is
    /// `xterm-256color` and, with `colour`, `NO_COLOR` is unset. What the terminal received
    /// (`\r\n` made `\n`) is in `stdout`.
    pub fn run_with_stdout_on_terminal(&self, args: &[&str], colour: bool) -> Output {
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors into the integers; the other arguments may be
        // null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned by nothing else.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = self.command(args);
        if colour {
            cmd.env_remove("NO_COLOR");
        }
        cmd.env("TERM", "xterm-256color")
            .stdout(Stdio::from(slave))
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("ssmform starts");
        drop(cmd); // the parent's copy of the slave side, so the master sees EOF/EIO at exit
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = stderr.read_to_end(&mut s);
            s
        });
        let mut out = Vec::new();
        let mut master = std::fs::File::from(master);
        // Reading a pty master after the slave side closes ends with EIO on Linux.
        let _ = master.read_to_end(&mut out);
        let status = child.wait().unwrap();
        let env: &[(&str, &str)] = if colour { &[] } else { &[("NO_COLOR", "1")] };
        Output {
            command: format!(
                "{} (stdout on a terminal)",
                self.command_line(None, args, env)
            ),
            code: status.code(),
            stdout: String::from_utf8_lossy(&out).replace("\r\n", "\n"),
            stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        }
    }

    /// The apply journals written so far (`cfg/.ssmform/journal/*.jsonl`), oldest first.
    pub fn journals(&self) -> Vec<PathBuf> {
        let dir = self.path("cfg/.ssmform/journal");
        let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|e| e.expect("journal entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    /// The only journal; panics if there is not exactly one.
    pub fn journal(&self) -> PathBuf {
        let all = self.journals();
        assert_eq!(all.len(), 1, "expected one journal, found {all:?}");
        all.into_iter().next().unwrap()
    }

    /// The planned changes' addresses, from `plan <cfg> --format json`.
    pub fn planned(&self) -> BTreeSet<String> {
        let cfg = self.config_dir();
        let out = self.run([
            OsStr::new("plan"),
            cfg.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("json"),
        ]);
        out.assert_success();
        planned_addresses(&out.stdout)
    }
}
