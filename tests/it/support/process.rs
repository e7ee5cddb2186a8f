//! The `ssmform` binary as the tests run it, and what a run gives back.
//!
//! - [`Ssmform`]: run the real binary with args, env and a working directory, in the machine's
//!   environment minus anything that could change the outcome (credentials, plan key, colour).
//!   For a configuration directory bound to an emulator, use
//!   [`Workspace`](super::workspace::Workspace) instead.
//! - [`Output`]: exit code, stdout and stderr, with chainable assertions that print all of it
//!   (and the command) when they fail: `out.assert_success().assert_stdout_contains("Plan:")`.
//! - [`Running`]: a run in the background whose output is drained on threads, to signal or wait.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::emulator::{REGION, TestEmulator};
use super::leaks::Leaks;

/// The path of the built `ssmform` binary.
pub fn ssmform_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ssmform"))
}

/// A fresh temporary directory, removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `words` as a shell would need them typed: plain words as they are, others single-quoted.
pub fn shell_words<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| {
            let w = w.as_ref();
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
            if plain {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Variables every run starts without, whatever the developer's shell holds: they would change
/// credentials, keys, logging or variables.
pub const SCRUBBED_ENV: &[&str] = &[
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SECURITY_TOKEN",
    "TENCENTCLOUD_TOKEN",
    "TENCENTCLOUD_REGION",
    "TENCENTCLOUD_PROFILE",
    "SSMFORM_PLAN_KEY",
    "SSMFORM_EMULATOR_SECRET_ID",
    "SSMFORM_EMULATOR_SECRET_KEY",
    "SSMFORM_LOG",
    "NO_COLOR",
];

// ---------------------------------------------------------------------------------------------
// A run in the machine's environment

/// A run of the `ssmform` binary: `Ssmform::new(["validate", "."]).env("K", "V").run()`.
///
/// The run inherits the machine's environment minus [`SCRUBBED_ENV`] and every `SSMFORM_VAR_*`
/// and `TF_VAR_*`,
/// plus `NO_COLOR=1` (unless [`Ssmform::colour_allowed`]) and what the test sets.
pub struct Ssmform {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    no_color: bool,
    clean_env: bool,
    cwd: Option<PathBuf>,
    umask: Option<u32>,
    nofile: Option<u32>,
}

impl Ssmform {
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ssmform {
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            no_color: true,
            clean_env: false,
            cwd: None,
            umask: None,
            nofile: None,
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// A path argument (lossily made UTF-8).
    pub fn path_arg(self, p: impl AsRef<Path>) -> Self {
        let p = p.as_ref().to_string_lossy().into_owned();
        self.arg(p)
    }

    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Leave `NO_COLOR` unset (it is `1` by default).
    pub fn colour_allowed(mut self) -> Self {
        self.no_color = false;
        self
    }

    /// Inherit nothing from the machine's environment (not even `PATH` or `HOME`): only what
    /// the test sets, and `NO_COLOR`.
    pub fn clean_env(mut self) -> Self {
        self.clean_env = true;
        self
    }

    /// Give the run the credentials an emulator accepts, and the harness region, through the
    /// environment (`TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY`, `TENCENTCLOUD_REGION`).
    pub fn credentials_of(self, emu: &TestEmulator) -> Self {
        let c = emu.credential().clone();
        self.env("TENCENTCLOUD_SECRET_ID", c.secret_id)
            .env("TENCENTCLOUD_SECRET_KEY", c.secret_key)
            .env("TENCENTCLOUD_REGION", REGION)
    }

    /// Run under this umask (through `sh -c 'umask ...; exec ssmform ...'`).
    pub fn umask(mut self, umask: u32) -> Self {
        self.umask = Some(umask);
        self
    }

    /// Run with at most `n` open files (through `sh -c 'ulimit -n N; exec ssmform ...'`).
    pub fn max_open_files(mut self, n: u32) -> Self {
        self.nofile = Some(n);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The command line as it reads in a failure message: the variables the test set, then the
    /// arguments.
    pub fn command_line(&self) -> String {
        let env = self
            .env
            .iter()
            .filter(|(k, _)| !k.starts_with("TENCENTCLOUD_"))
            .map(|(k, v)| format!("{k}={v}"));
        shell_words(
            env.chain(std::iter::once("ssmform".to_string()))
                .chain(self.args.clone()),
        )
    }

    fn command(&self) -> Command {
        let mut c = match (self.umask, self.nofile) {
            (None, None) => Command::new(ssmform_bin()),
            (umask, nofile) => {
                let mut prelude = String::new();
                if let Some(n) = nofile {
                    prelude.push_str(&format!("ulimit -n {n} && "));
                }
                if let Some(m) = umask {
                    prelude.push_str(&format!("umask {m:03o} && "));
                }
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("{prelude}exec \"$0\" \"$@\""))
                    .arg(ssmform_bin());
                c
            }
        };
        c.args(&self.args);
        if self.clean_env {
            c.env_clear();
        }
        for var in SCRUBBED_ENV {
            c.env_remove(var);
        }
        for (k, _) in std::env::vars_os() {
            let k_text = k.to_string_lossy();
            if k_text.starts_with("SSMFORM_VAR_") || k_text.starts_with("TF_VAR_") {
                c.env_remove(k);
            }
        }
        if self.no_color {
            c.env("NO_COLOR", "1");
        }
        c.envs(&self.env);
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        c
    }

    /// Run to completion (stdin closed).
    pub fn run(&self) -> Output {
        Output::of(self.command_line(), self.command())
    }

    /// Start without waiting (stdout and stderr piped).
    pub fn spawn(&self) -> Child {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssmform starts")
    }

    /// Start in the background, output drained on threads.
    pub fn start(&self) -> Running {
        Running::start(self.command_line(), self.command())
    }
}

// ---------------------------------------------------------------------------------------------
// What a run gives back

/// What a finished run printed and returned.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages (see [`Ssmform::command_line`]).
    pub command: String,
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Run `command` to completion, stdin closed, and capture it as `command_line`.
    pub fn of(command_line: impl Into<String>, mut command: Command) -> Output {
        let command_line = command_line.into();
        let out = command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("`{command_line}` does not start: {e}"));
        Output {
            command: command_line,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The exit code, or -1 when the process died of a signal (never expected).
    pub fn exit_code(&self) -> i32 {
        self.code.unwrap_or(-1)
    }

    /// Everything about the run, as a failed assertion shows it.
    pub fn report(&self) -> String {
        let code = match self.code {
            Some(c) => c.to_string(),
            None => "none (ended by a signal)".into(),
        };
        let stream = |name: &str, text: &str| {
            if text.is_empty() {
                format!("--- {name}: (empty)\n")
            } else if text.ends_with('\n') {
                format!("--- {name}:\n{text}")
            } else {
                format!("--- {name}:\n{text}\n[no newline at end]\n")
            }
        };
        format!(
            "$ {}\nexit code: {code}\n{}{}",
            self.command,
            stream("stdout", &self.stdout),
            stream("stderr", &self.stderr)
        )
    }

    #[track_caller]
    fn fail(&self, problem: &str) -> ! {
        panic!("{problem}\n{}", self.report())
    }

    /// Exit code 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_exit(0)
    }

    /// Exit code `code`.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            self.fail(&format!("expected exit code {code}"));
        }
        self
    }

    /// Exit code 0 or 1 (a run that may fail for good reasons, but must not crash or misuse).
    #[track_caller]
    pub fn assert_exit_in(&self, codes: &[i32]) -> &Self {
        if !self.code.is_some_and(|c| codes.contains(&c)) {
            self.fail(&format!("expected an exit code in {codes:?}"));
        }
        self
    }

    /// Ended by a signal (no exit code).
    #[track_caller]
    pub fn assert_killed(&self) -> &Self {
        if self.code.is_some() {
            self.fail("expected the process to be killed by a signal");
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, text: &str) -> &Self {
        if !self.stdout.contains(text) {
            self.fail(&format!("expected stdout to contain {text:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout_not_contains(&self, text: &str) -> &Self {
        if self.stdout.contains(text) {
            self.fail(&format!("expected stdout not to contain {text:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, text: &str) -> &Self {
        if !self.stderr.contains(text) {
            self.fail(&format!("expected stderr to contain {text:?}"));
        }
        self
    }

    #[track_caller]
    pub fn assert_stderr_not_contains(&self, text: &str) -> &Self {
        if self.stderr.contains(text) {
            self.fail(&format!("expected stderr not to contain {text:?}"));
        }
        self
    }

    /// stdout is exactly `text`.
    #[track_caller]
    pub fn assert_stdout_eq(&self, text: &str) -> &Self {
        if self.stdout != text {
            self.fail(&format!("expected stdout to be exactly {text:?}"));
        }
        self
    }

    /// stderr is exactly `text`.
    #[track_caller]
    pub fn assert_stderr_eq(&self, text: &str) -> &Self {
        if self.stderr != text {
            self.fail(&format!("expected stderr to be exactly {text:?}"));
        }
        self
    }

    /// No canary of `leaks`, in any form, in stdout or stderr.
    #[track_caller]
    pub fn assert_no_leak(&self, leaks: &Leaks) -> &Self {
        leaks.assert_output_clean(self);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// A run in the background

/// A running `ssmform` child whose output is drained on threads (so a full pipe never blocks it).
pub struct Running {
    pub child: Child,
    command: String,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    /// Spawn `command` (stdin closed, output piped) and drain its output.
    pub fn start(command_line: String, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("`{command_line}` does not start: {e}"));
        let drain = |r: Option<Box<dyn Read + Send>>| {
            let mut r = r.expect("piped");
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = r.read_to_string(&mut s);
                s
            })
        };
        let stdout = drain(child.stdout.take().map(|s| Box::new(s) as _));
        let stderr = drain(child.stderr.take().map(|s| Box::new(s) as _));
        Running {
            child,
            command: command_line,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal` (a name `kill` understands: KILL, INT, TERM) by pid.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .stdout(Stdio::null())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Wait for the exit; returns code and output.
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait for ssmform");
        Output {
            command: self.command.clone(),
            code: status.code(),
            stdout: self.stdout.take().unwrap().join().unwrap(),
            stderr: self.stderr.take().unwrap().join().unwrap(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stdout.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Poll until `ready` holds (every 20 ms), or panic after `limit` with `what`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(code: Option<i32>) -> Output {
        Output {
            command: "ssmform plan 'my dir'".into(),
            code,
            stdout: "Plan: 1 to create\n".into(),
            stderr: "warning".into(),
        }
    }

    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        *std::panic::catch_unwind(f)
            .unwrap_err()
            .downcast::<String>()
            .unwrap()
    }

    #[test]
    fn assertions_chain_and_a_failure_shows_the_command_code_and_both_streams() {
        output(Some(2))
            .assert_exit(2)
            .assert_stdout_contains("Plan:")
            .assert_stdout_not_contains("update")
            .assert_stderr_contains("warn")
            .assert_stderr_not_contains("error")
            .assert_exit_in(&[0, 2]);
        output(None).assert_killed();
        let m = message(|| {
            output(Some(1)).assert_success();
        });
        assert_eq!(
            m,
            "expected exit code 0\n$ ssmform plan 'my dir'\nexit code: 1\n--- stdout:\n\
             Plan: 1 to create\n--- stderr:\nwarning\n[no newline at end]\n"
        );
        let m = message(|| {
            output(Some(0)).assert_stderr_contains("error");
        });
        assert!(
            m.starts_with("expected stderr to contain \"error\"\n$ ssmform"),
            "{m}"
        );
        let m = message(|| {
            output(None).assert_exit(0);
        });
        assert!(m.contains("exit code: none (ended by a signal)"), "{m}");
    }

    #[test]
    fn shell_words_quote_only_what_needs_it() {
        assert_eq!(
            shell_words(["ssmform", "plan", "--var", "a=b c", "it's", ""]),
            r#"ssmform plan --var 'a=b c' 'it'\''s' ''"#
        );
    }
}
