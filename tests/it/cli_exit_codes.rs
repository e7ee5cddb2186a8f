//! Exit codes CI can trust: a command line that does not parse exits 1, never 2 (which
//! `--detailed-exitcode` keeps for "changes present"), and help and version exit 0.
//!
//! Every subcommand, found by walking the clap command tree (so a new one is covered without
//! touching this file), runs with a flag it does not have, a value it refuses and an argument
//! missing; each must exit 1 with an error on stderr and nothing on stdout.

use clap::{Command, CommandFactory, Parser};
use ssmform::cli::Cli;

use crate::support::{Ssmform, temp_dir};

/// Every command path below the root: `["plan"]`, `["sops", "encrypt"]`, ...
fn command_paths() -> Vec<Vec<String>> {
    fn walk(c: &Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in c.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

fn find<'a>(root: &'a Command, path: &[String]) -> &'a Command {
    path.iter().fold(root, |c, name| {
        c.find_subcommand(name).expect("a subcommand of the tree")
    })
}

/// Placeholders for the required positional arguments of a command, so that only the flag under
/// test is wrong.
fn required_positionals(c: &Command) -> Vec<String> {
    c.get_positionals()
        .filter(|a| a.is_required_set())
        .map(|a| {
            a.get_possible_values()
                .first()
                .map(|v| v.get_name().to_string())
                .unwrap_or_else(|| "x".to_string())
        })
        .collect()
}

/// The kind of error clap reports for `args` (after Terraform's spellings), or `None` if they
/// parse.
fn parse_error(args: &[String]) -> Option<clap::error::ErrorKind> {
    let mut argv = vec!["ssmform".to_string()];
    argv.extend(args.iter().cloned());
    let argv = ssmform::cli::terraform::rewrite(
        argv.into_iter().map(Into::into).collect(),
        &Cli::command(),
    )
    .ok()?;
    Cli::try_parse_from(argv).err().map(|e| e.kind())
}

/// A command line for `path` with a value it refuses: the first value-taking flag that refuses
/// `not-a-value`, else a switch given a value (`--check=bogus`), else an unknown subcommand.
fn bad_value(path: &[String], c: &Command) -> Vec<String> {
    let base: Vec<String> = path
        .iter()
        .cloned()
        .chain(required_positionals(c))
        .collect();
    for a in c.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if !a.get_action().takes_values() {
            continue;
        }
        let mut args = base.clone();
        args.push(format!("--{long}=not-a-value"));
        if matches!(
            parse_error(&args),
            Some(clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation)
        ) {
            return args;
        }
    }
    if let Some(a) = c
        .get_arguments()
        .find(|a| a.get_long().is_some() && !a.get_action().takes_values())
    {
        let mut args = base;
        args.push(format!("--{}=bogus", a.get_long().unwrap()));
        return args;
    }
    let mut args = path.to_vec();
    args.push("bogus-subcommand".into());
    args
}

/// A command line for `path` with an argument missing: a required positional left out, else a
/// value-taking flag without its value, else a missing subcommand. `None` when the command has
/// nothing that can be missing (every argument optional, no flag with a value).
fn missing_argument(path: &[String], c: &Command) -> Option<Vec<String>> {
    if c.get_positionals().any(|a| a.is_required_set()) {
        return Some(path.to_vec());
    }
    if c.has_subcommands() {
        return Some(path.to_vec());
    }
    let a = c.get_arguments().find(|a| {
        a.get_long().is_some()
            && a.get_action().takes_values()
            && !a.is_require_equals_set()
            && a.get_num_args().is_none_or(|n| n.min_values() > 0)
    })?;
    let mut args = path.to_vec();
    args.push(format!("--{}", a.get_long().unwrap()));
    Some(args)
}

#[track_caller]
fn assert_usage_error(args: &[String]) {
    let dir = temp_dir();
    let out = Ssmform::new(args.iter().cloned())
        .current_dir(dir.path())
        .run();
    out.assert_exit(1);
    assert!(
        out.stdout.is_empty(),
        "`ssmform {}` wrote to stdout:\n{}",
        args.join(" "),
        out.stdout
    );
    assert!(
        out.stderr.to_lowercase().contains("error"),
        "`ssmform {}`: no error on stderr:\n{}",
        args.join(" "),
        out.stderr
    );
}

#[test]
fn every_subcommand_exits_1_on_a_bad_flag_a_bad_value_and_a_missing_argument() {
    let root = Cli::command();
    let paths = command_paths();
    assert!(
        paths.len() >= 12,
        "the command tree has too few commands: {paths:?}"
    );
    let mut nothing_can_be_missing = Vec::new();
    for path in &paths {
        let c = find(&root, path);
        // A flag it does not have, in both spellings.
        for flag in ["--no-such-flag", "-no-such-flag"] {
            let mut args = path.clone();
            args.extend(required_positionals(c));
            args.push(flag.into());
            assert_usage_error(&args);
        }
        assert_usage_error(&bad_value(path, c));
        match missing_argument(path, c) {
            Some(args) => assert_usage_error(&args),
            None => nothing_can_be_missing.push(path.join(" ")),
        }
    }
    // Every other command has a required argument or a flag that takes a value.
    assert_eq!(nothing_can_be_missing, ["fmt", "version"]);
}

#[test]
fn the_typos_of_the_issue_exit_1() {
    for args in [
        &["plan", "--detailed-exitcod"][..],
        &["plan", "-detailed-exitcod"],
        &["plan", "--format", "yaml"],
        &["nosuch"],
        &[],
        &["apply", "-auto-aprove"],
        &["plan", "--parallelism", "0"],
        &["--chdir"],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        assert_usage_error(&args);
    }
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for args in [
        &["--help"][..],
        &["-help"],
        &["plan", "--help"],
        &["plan", "-h"],
        &["--version"],
        &["version"],
        &["-version"],
    ] {
        let out = Ssmform::new(args.iter().copied()).run();
        out.assert_success();
        assert!(!out.stdout.is_empty(), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
    }
}
