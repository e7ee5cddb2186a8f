//! The README and every example's README match the tool: each shell command they show is run, and
//! the output they show under it is compared with what it really prints.
//!
//! How a README is written so that this test checks it:
//!
//! - **Commands.** In a ` ```sh ` block, every line that is not a comment is a command (a `\` at
//!   the end of a line continues it). In a ` ```console ` block, a line starting with `$ ` is a
//!   command. `cargo run --release -- ARGS` and `ssmform ARGS` both run the binary under test. A
//!   comment at the end of a command line (`cmd   # why`) explains it; it is not output.
//! - **Output.** The comment lines right under a command in a `sh` block (`# Plan: ...`), the
//!   lines under a `$ ` command in a `console` block, and an untagged block that directly follows
//!   a `sh` block (only blank lines between) show what the command (the block's last one) prints,
//!   stdout and stderr together.
//! - **Matching.** The lines shown must appear in the real output in that order, each next to
//!   the one before. What varies from run to run is marked: a line `…` (or `...`) stands for any
//!   number of lines, and `…` inside a line for any text (timings, RequestIds, temporary paths).
//!   Spaces at either end of a line are ignored (a comment need not copy the indentation), and
//!   fingerprints (`fingerprint 2de056c9 → 20e4462e`) are
//!   compared as `########`: in local mode each configuration's plan key is random, so they are
//!   variable by nature.
//! - **Exit codes.** Every command must exit 0. A command that is meant to fail, or to exit 2,
//!   shows it: `cmd; echo "exit $?"` with `# exit 2` among its output lines.
//! - **Blocks that cannot run** (`cargo test` itself, a server that runs until stopped) are
//!   preceded by `<!-- not run: REASON -->`; their `ssmform` commands are still checked to parse.
//!
//! Each README runs as one shell script, so `cd`, edits and files carry over from one block to
//! the next, as for a reader going down the page: in a temporary copy of the repository's
//! `examples/` (a git repository, so that a clean-up step's `git checkout` works), with a clean
//! environment (no credentials, `NO_COLOR=1`), on the embedded emulator.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use ssmform::cli::Cli;

use crate::examples::{copy_dir, examples_dir, mask_fingerprints, ssmform_commands};
use crate::support::{ssmform_bin, temp_dir};

/// A command shown in a README, with the output shown under it.
#[derive(Debug, Clone)]
struct Step {
    /// The README line it is on (1-based).
    line: usize,
    /// As the README writes it.
    shown: String,
    /// The lines the README shows as its output.
    expected: Vec<String>,
    /// False in a block marked `<!-- not run: ... -->`.
    run: bool,
}

/// The steps of a README, in order.
fn steps(readme: &str) -> Vec<Step> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut steps: Vec<Step> = Vec::new();
    let mut i = 0;
    // The last `sh` block: where it ended, and its last step.
    let mut last_sh: Option<(usize, Option<usize>)> = None;
    while i < lines.len() {
        let Some(lang) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = lang.trim().to_string();
        let start = i;
        let mut end = i + 1;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let body = &lines[start + 1..end.min(lines.len())];
        let not_run = lines[..start]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with("<!-- not run:"));
        match lang.as_str() {
            "sh" | "console" => {
                let mut last = None;
                let mut j = 0;
                while j < body.len() {
                    let line_no = start + 2 + j;
                    let text = body[j];
                    let trimmed = text.trim_start();
                    if lang == "sh" && trimmed.starts_with('#') {
                        if let Some(s) = last {
                            let s: &mut Step = &mut steps[s];
                            s.expected.push(strip_comment(trimmed).to_string());
                        }
                        j += 1;
                        continue;
                    }
                    if lang == "console" && !trimmed.starts_with("$ ") {
                        if let Some(s) = last {
                            let s: &mut Step = &mut steps[s];
                            s.expected.push(text.to_string());
                        }
                        j += 1;
                        continue;
                    }
                    if trimmed.is_empty() {
                        j += 1;
                        continue;
                    }
                    let mut command = trimmed.strip_prefix("$ ").unwrap_or(trimmed).to_string();
                    while command.ends_with('\\') && j + 1 < body.len() {
                        command.pop();
                        j += 1;
                        command.push_str(body[j].trim_start());
                    }
                    steps.push(Step {
                        line: line_no,
                        shown: command,
                        expected: Vec::new(),
                        run: !not_run,
                    });
                    last = Some(steps.len() - 1);
                    j += 1;
                }
                last_sh = (lang == "sh").then_some((end, last));
            }
            "" => {
                if let Some((sh_end, Some(s))) = last_sh
                    && lines[sh_end + 1..start].iter().all(|l| l.trim().is_empty())
                {
                    steps[s].expected.extend(body.iter().map(|l| l.to_string()));
                }
                last_sh = None;
            }
            _ => last_sh = None,
        }
        i = end + 1;
    }
    steps
}

/// `# text` → `text`; `#` → ``.
fn strip_comment(line: &str) -> &str {
    let rest = line.strip_prefix('#').unwrap_or(line);
    rest.strip_prefix(' ').unwrap_or(rest)
}

/// The shell text to run for a command as shown: `cargo run --release --` is the binary under
/// test (found on `PATH` as `ssmform`).
fn runnable(shown: &str) -> String {
    shown.replace("cargo run --release -- ", "ssmform ")
}

/// One expected line: any number of lines, or a line with `…` wildcards.
#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Gap,
    Line(String),
}

fn patterns(expected: &[String]) -> Vec<Pattern> {
    let mut out = vec![Pattern::Gap];
    for e in expected {
        let e = mask_fingerprints(e.trim());
        let p = if e.trim() == "…" || e.trim() == "..." {
            Pattern::Gap
        } else {
            Pattern::Line(e)
        };
        if !(p == Pattern::Gap && out.last() == Some(&Pattern::Gap)) {
            out.push(p);
        }
    }
    if out.last() != Some(&Pattern::Gap) {
        out.push(Pattern::Gap);
    }
    out
}

/// Whether `line` matches `pattern`, where `…` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    if !rest.ends_with(last) {
        return false;
    }
    rest = &rest[..rest.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn output_matches(patterns: &[Pattern], lines: &[String]) -> bool {
    match patterns.first() {
        None => lines.is_empty(),
        Some(Pattern::Gap) => {
            (0..=lines.len()).any(|k| output_matches(&patterns[1..], &lines[k..]))
        }
        Some(Pattern::Line(p)) => {
            !lines.is_empty()
                && line_matches(p, &lines[0])
                && output_matches(&patterns[1..], &lines[1..])
        }
    }
}

#[test]
fn output_patterns_match_as_documented() {
    let out: Vec<String> = [
        "Plan: 1",
        "Wave 1 of 2: 2 changes",
        "secret.a: created (0.01s)",
        "end",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ok = |e: &[&str]| {
        output_matches(
            &patterns(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            &out,
        )
    };
    assert!(ok(&["Wave 1 of 2: 2 changes", "secret.a: created (…s)"]));
    assert!(ok(&["Plan: 1", "…", "end"]));
    assert!(ok(&["Plan: 1", "...", "secret.a: … (…)"]));
    assert!(
        !ok(&["Plan: 1", "end"]),
        "lines shown together must be together"
    );
    assert!(!ok(&["end", "Plan: 1"]), "in order");
    assert!(!ok(&["Plan: 2"]));
    let readme = "```sh\ncargo run --release -- plan x   # why\n# Plan: 1\n```\n\n```\nA\n```\n\
                  <!-- not run: a server -->\n```console\n$ ssmform emulator\nlistening\n```\n";
    let s = steps(readme);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].expected, ["Plan: 1", "A"]);
    assert!(s[0].run && !s[1].run);
    assert_eq!(s[1].expected, ["listening"]);
    assert_eq!(runnable(&s[0].shown), "ssmform plan x   # why");
}

/// The READMEs this test runs, relative to the repository.
fn readmes() -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("README.md")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path().join("README.md"))
        .filter(|p| p.is_file())
        .map(|p| {
            p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .to_path_buf()
        })
        .collect();
    examples.sort();
    found.extend(examples);
    found
}

/// Every `ssmform` command shown, run or not, parses (Terraform's spellings included), unless it
/// is shown failing (`# exit 1`).
fn check_parses(readme: &Path, step: &Step) {
    if step.expected.iter().any(|l| l.trim() == "exit 1") {
        return;
    }
    for cmd in ssmform_commands("README", &runnable(&step.shown)) {
        if cmd.words.iter().any(|w| w.contains('$')) {
            continue;
        }
        let args = ssmform::cli::terraform::rewrite(
            cmd.words.iter().map(Into::into).collect(),
            &<Cli as clap::CommandFactory>::command(),
        )
        .unwrap_or_else(|e| panic!("{}:{}: `{}`: {e}", readme.display(), step.line, cmd.raw));
        match Cli::try_parse_from(args) {
            Ok(_) => {}
            Err(e)
                if e.kind() == clap::error::ErrorKind::DisplayHelp
                    || e.kind() == clap::error::ErrorKind::DisplayVersion => {}
            Err(e) => panic!(
                "{}:{}: `{}` does not parse:\n{e}",
                readme.display(),
                step.line,
                cmd.raw
            ),
        }
    }
}

/// The marker between two commands' outputs.
const MARK: &str = "@@ssmform-docs@@";

/// Run a README's steps as one script in a fresh copy of `examples/`, and compare outputs.
fn run_readme(rel: &Path) {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
    let steps = steps(&readme);
    for s in &steps {
        check_parses(rel, s);
    }
    let runs: Vec<&Step> = steps.iter().filter(|s| s.run).collect();
    if runs.is_empty() {
        return;
    }
    let root = temp_dir();
    let repo = root.path().join("repo");
    copy_dir(&examples_dir(), &repo.join("examples"));
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(ssmform_bin(), bin.join("ssmform")).unwrap();
    for d in ["home", "tmp"] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    let mut script = String::from("exec 2>&1\nexec </dev/null\n");
    script.push_str(
        "git init -q . && git add -A && git commit -q -m examples >/dev/null || exit 99\n",
    );
    for (i, s) in runs.iter().enumerate() {
        script.push_str(&format!("echo '{MARK} {i}'\n{}\n", runnable(&s.shown)));
        // The step's exit code, kept before the `echo` that ends its output resets `$?`.
        script.push_str(&format!("rc=$?; echo; echo \"{MARK} end $rc\"\n"));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let out = Command::new("timeout")
        .args(["300", "sh", "-c", &script])
        .current_dir(&repo)
        .env_clear()
        .env("PATH", format!("{}:{path}", bin.display()))
        .env("HOME", root.path().join("home"))
        .env("TMPDIR", root.path().join("tmp"))
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "docs")
        .env("GIT_AUTHOR_EMAIL", "docs@example.invalid")
        .env("GIT_COMMITTER_NAME", "docs")
        .env("GIT_COMMITTER_EMAIL", "docs@example.invalid")
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Split at the markers: each step's output and exit code.
    let mut outputs: Vec<(Vec<String>, Option<i32>)> = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(MARK) {
            let rest = rest.trim();
            if let Some(code) = rest.strip_prefix("end ") {
                let mut lines = current.take().unwrap_or_default();
                while lines.last().is_some_and(|l| l.trim().is_empty()) {
                    lines.pop();
                }
                outputs.push((lines, code.parse().ok()));
            } else {
                current = Some(Vec::new());
            }
        } else if let Some(c) = current.as_mut() {
            c.push(mask_fingerprints(line.trim()));
        }
    }
    for (i, step) in runs.iter().enumerate() {
        let Some((lines, code)) = outputs.get(i) else {
            panic!(
                "{}:{}: `{}` did not finish (exit {:?}); the script's output:\n{text}",
                rel.display(),
                step.line,
                step.shown,
                out.status.code()
            );
        };
        let shown = lines.join("\n");
        assert_eq!(
            *code,
            Some(0),
            "{}:{}: `{}` exited {code:?} (show a failure with `; echo \"exit $?\"`):\n{shown}",
            rel.display(),
            step.line,
            step.shown
        );
        assert!(
            output_matches(&patterns(&step.expected), lines),
            "{}:{}: the output of `{}` is not what the README shows.\n--- README\n{}\n--- real\n{shown}",
            rel.display(),
            step.line,
            step.shown,
            step.expected.join("\n")
        );
    }
}

#[test]
fn every_readme_is_covered() {
    let names: Vec<String> = readmes().iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "README.md",
            "examples/binary/README.md",
            "examples/ci/README.md",
            "examples/data-source/README.md",
            "examples/dependencies/README.md",
            "examples/json-config/README.md",
            "examples/multi-env/README.md",
            "examples/quickstart/README.md",
            "examples/sops/README.md",
        ],
        "a README was added or removed: give it a test below"
    );
}

#[test]
fn readme_commands_print_what_it_shows() {
    run_readme(Path::new("README.md"));
}

#[test]
fn binary_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/binary/README.md"));
}

#[test]
fn ci_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/ci/README.md"));
}

#[test]
fn data_source_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/data-source/README.md"));
}

#[test]
fn dependencies_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/dependencies/README.md"));
}

#[test]
fn json_config_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/json-config/README.md"));
}

#[test]
fn multi_env_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/multi-env/README.md"));
}

#[test]
fn quickstart_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/quickstart/README.md"));
}

#[test]
fn sops_readme_commands_print_what_it_shows() {
    run_readme(Path::new("examples/sops/README.md"));
}
