//! Shared helpers for the configuration tests: loading a fixture directory the way the commands
//! do, with its command-line arguments, environment and mode taken from files beside it.
//!
//! A fixture directory may hold, besides its `*.hcl` files:
//! - `args`: command-line arguments, one per line (`--var`, `name=value`, `--var-file`, `path`);
//! - `env`: `NAME=value` lines standing for the process environment;
//! - `mode`: `plan` to load in `Mode::Plan` (default `Mode::Validate`).

use std::path::{Path, PathBuf};

use ssmform::config::{self, Config, DataValues, Diagnostics, LoadOptions, Mode, VarInputs};

pub const FIXTURES: &str = "tests/fixtures/config";

/// Where snapshots live (top-level `snapshots/`).
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

pub struct Fixture {
    pub dir: PathBuf,
    pub vars: VarInputs,
    pub env: Vec<(String, String)>,
    pub mode: Mode,
}

impl Fixture {
    pub fn new(dir: impl AsRef<Path>) -> Fixture {
        let dir = dir.as_ref().to_path_buf();
        let lines = |name: &str| -> Vec<String> {
            std::fs::read_to_string(dir.join(name))
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let mut vars = VarInputs::default();
        let args = lines("args");
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().expect("a flag in `args` needs a value").clone();
            match flag.as_str() {
                "--var" => vars.vars.push(value),
                "--var-file" => vars.var_files.push(value.into()),
                other => panic!("unknown flag {other} in args"),
            }
        }
        let env = lines("env")
            .into_iter()
            .map(|l| {
                let (k, v) = l.split_once('=').expect("env lines are NAME=value");
                (k.to_string(), v.to_string())
            })
            .collect();
        let mode = if lines("mode").first().is_some_and(|m| m == "plan") {
            Mode::Plan
        } else {
            Mode::Validate
        };
        Fixture {
            dir,
            vars,
            env,
            mode,
        }
    }

    pub fn load(&self) -> Result<Config, Diagnostics> {
        config::load(&LoadOptions {
            dir: &self.dir,
            vars: &self.vars,
            env: self.env.clone(),
            mode: self.mode,
        })
    }

    /// Everything `ssmform validate` reports: load errors, or warnings plus evaluation
    /// diagnostics.
    pub fn diagnostics(&self) -> Diagnostics {
        match self.load() {
            Err(d) => d,
            Ok(cfg) => {
                let ev = cfg.evaluate(&DataValues::default(), None);
                let mut d = cfg.warnings().clone();
                d.extend(ev.diagnostics);
                d.sort();
                d
            }
        }
    }
}

/// A temporary configuration directory with the given files.
pub fn temp_config(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directory");
        }
        std::fs::write(path, text).expect("write fixture");
    }
    dir
}
