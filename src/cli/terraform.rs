//! Terraform's spellings of the command line, accepted as aliases.
//!
//! Terraform writes every flag with one dash (`-auto-approve`, `-var name=value`, `-out=plan`,
//! `-lock-timeout=30s`) and takes `-chdir=DIR` before the subcommand. [`rewrite`] turns such an
//! argument list into the double-dash one clap parses, before clap sees it. It is driven by the
//! clap command tree, so every long flag of every command has its single-dash spelling without a
//! list to keep up to date: walking the arguments, it knows which command it is in (the
//! subcommand names it has passed), which of that command's flags take a value (the next
//! argument is then a value, never rewritten), and which names exist.
//!
//! A single-dash word that is not a flag of the command is looked up in [`TERRAFORM_FLAGS`]:
//! Terraform's flags spelt differently here (`-json`), flags accepted and ignored because they
//! change nothing here (`-input=false`, `-compact-warnings`), and flags ssmform has no
//! equivalent for, refused with an error that says what to use instead or why there is none.
//! Anything else is an unknown flag, reported with the closest existing one. Arguments after
//! `--` are left alone, and so are one-letter flags (`-h`, `-V`, `-o FILE`).

use std::ffi::OsString;

use clap::Command;

/// How a Terraform flag that is not one of the command's own long flags is handled.
#[derive(Debug, Clone, Copy)]
pub enum Terraform {
    /// `-json`: `--json` where the command has it (`version`), else `--format=json`.
    Json,
    /// `-version` / `-v` before the subcommand: the `version` subcommand.
    Version,
    /// `-help`: `--help`.
    Help,
    /// Accepted and dropped: it would change nothing here (the reason, for the documentation).
    Ignored(&'static str),
    /// Refused: no equivalent here. The message says what to use instead, or why there is none.
    Refused(&'static str),
}

/// Terraform's flags that are not spelt as one of ssmform's long flags, and what each does here.
pub const TERRAFORM_FLAGS: &[(&str, Terraform)] = &[
    ("json", Terraform::Json),
    ("version", Terraform::Version),
    ("v", Terraform::Version),
    ("help", Terraform::Help),
    (
        "input",
        Terraform::Ignored(
            "ssmform never prompts for variable values: a variable without one is an error",
        ),
    ),
    (
        "compact-warnings",
        Terraform::Ignored("ssmform's warnings are short already"),
    ),
    (
        "refresh-only",
        Terraform::Refused(
            "ssmform keeps no state to refresh: every plan reads the live secrets. To see drift \
             without changing anything, run `ssmform plan --detailed-exitcode` (exit 2 when the \
             live secrets differ from the configuration)",
        ),
    ),
    (
        "refresh",
        Terraform::Refused(
            "ssmform keeps no state to plan from: every plan reads the live values it compares, \
             so a plan cannot skip the refresh",
        ),
    ),
    (
        "state",
        Terraform::Refused(
            "ssmform keeps no state file: the live secrets are the state (a plan reads them)",
        ),
    ),
    (
        "state-out",
        Terraform::Refused(
            "ssmform keeps no state file: the live secrets are the state (a plan reads them)",
        ),
    ),
    (
        "backup",
        Terraform::Refused(
            "ssmform keeps no state file, so there is no backup of it to write; apply journals \
             every write in .ssmform/journal/",
        ),
    ),
    (
        "backend",
        Terraform::Refused(
            "ssmform has no backends: there is no state to store (the run lock is a secret in \
             the region, or a flock for endpoint = \"local\")",
        ),
    ),
    (
        "backend-config",
        Terraform::Refused(
            "ssmform has no backends: there is no state to store; the provider block (and the \
             TENCENTCLOUD_* variables) say which account and region to use",
        ),
    ),
    (
        "reconfigure",
        Terraform::Refused(
            "ssmform has no `init` and no backends: there is nothing to configure before `plan`",
        ),
    ),
    (
        "migrate-state",
        Terraform::Refused("ssmform has no `init` and no state to migrate"),
    ),
    (
        "upgrade",
        Terraform::Refused(
            "ssmform has no `init`: its one provider is built in, so there is nothing to \
             install or upgrade",
        ),
    ),
    (
        "plugin-dir",
        Terraform::Refused("ssmform has no plugins: its one provider is built in"),
    ),
    (
        "get",
        Terraform::Refused("ssmform has no modules to download"),
    ),
    (
        "replace",
        Terraform::Refused(
            "ssmform writes a secret version only when its content differs from the \
             configuration; to write it again, change its content or its version_id",
        ),
    ),
    (
        "destroy",
        Terraform::Refused(
            "ssmform deletes a secret or a version only when a removed block names it: add \
             removed { secret_name = \"...\" } for each (with a recovery window); a block taken \
             out of the configuration is no longer managed",
        ),
    ),
    (
        "generate-config-out",
        Terraform::Refused(
            "ssmform generates no configuration: declare the secret block yourself; a plan \
             adopts a version that already holds the declared content",
        ),
    ),
    (
        "recursive",
        Terraform::Refused(
            "ssmform reads only the directory's own *.hcl files, never subdirectories: run \
             `ssmform fmt DIR` for each configuration directory",
        ),
    ),
    (
        "diff",
        Terraform::Refused(
            "`ssmform fmt` prints no diff: `ssmform fmt --check` lists the files that would \
             change, without writing them",
        ),
    ),
    (
        "write",
        Terraform::Refused(
            "use `ssmform fmt --check` to list the files that would change without writing them",
        ),
    ),
    (
        "list",
        Terraform::Refused(
            "`ssmform fmt` always lists the files it changes; `--check` lists them without \
             writing",
        ),
    ),
    (
        "type",
        Terraform::Refused(
            "`ssmform graph` draws one graph: the configuration's dependencies, with apply waves",
        ),
    ),
    (
        "draw-cycles",
        Terraform::Refused(
            "a dependency cycle is an error in ssmform, naming the whole cycle; the graph never \
             has one",
        ),
    ),
    ("module-depth", Terraform::Refused("ssmform has no modules")),
    (
        "install-autocomplete",
        Terraform::Refused(
            "print a completion script with `ssmform completions SHELL` (its --help says where \
             to put it)",
        ),
    ),
];

/// What a Terraform flag is here, if it is in [`TERRAFORM_FLAGS`].
pub fn terraform_flag(name: &str) -> Option<Terraform> {
    TERRAFORM_FLAGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// `args` (the program name first) with Terraform's single-dash spellings replaced by the flags
/// clap parses, `cmd` being the command tree. An error is a message for the user: a flag with
/// no equivalent, an unknown single-dash flag, or `-chdir` after the subcommand.
pub fn rewrite(args: Vec<OsString>, cmd: &Command) -> Result<Vec<OsString>, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    if let Some(program) = iter.next() {
        out.push(program);
    }
    // The commands passed so far: the root, then each subcommand named.
    let mut path: Vec<&Command> = vec![cmd];
    // The next argument is the value of the flag before it.
    let mut value_next = false;
    let mut rest = false;
    for arg in iter {
        let current = *path.last().expect("the root");
        if rest || value_next {
            value_next = false;
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            rest = true;
            out.push(arg);
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, has_value) = split_value(long);
            value_next = !has_value && takes_value(&path, name);
            out.push(arg);
            continue;
        }
        let Some(word) = text.strip_prefix('-').filter(|w| !w.is_empty()) else {
            // A positional argument: a subcommand name moves down the tree.
            if let Some(sub) = current.find_subcommand(text) {
                path.push(sub);
            }
            out.push(arg);
            continue;
        };
        let (name, has_value) = split_value(word);
        // One-letter flags (`-h`, `-V`, `-o FILE`, `-ofile`) are clap's own short flags.
        if (name.chars().count() == 1 && terraform_flag(name).is_none())
            || is_short_with_value(current, word)
        {
            if let Some(short) = word.chars().next() {
                value_next = word.chars().count() == 1 && short_takes_value(&path, short);
            }
            out.push(arg);
            continue;
        }
        if name == "chdir" && path.len() > 1 {
            return Err(format!(
                "-chdir goes before the subcommand, as in Terraform: ssmform -chdir=DIR {} ...",
                path[1..]
                    .iter()
                    .map(|c| c.get_name())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        if find_long(&path, name).is_some() {
            value_next = !has_value && takes_value(&path, name);
            out.push(format!("-{text}").into());
            continue;
        }
        match terraform_flag(name) {
            Some(Terraform::Json) => {
                if has_value {
                    return Err(format!("-json takes no value (got {text:?})"));
                }
                if find_long(&path, "json").is_some() {
                    out.push("--json".into());
                } else if find_long(&path, "format").is_some() {
                    out.push("--format=json".into());
                } else {
                    return Err(format!(
                        "`{}` has no JSON output (-json)",
                        command_name(&path)
                    ));
                }
            }
            Some(Terraform::Version) if path.len() == 1 => {
                if let Some(sub) = current.find_subcommand("version") {
                    path.push(sub);
                }
                out.push("version".into());
            }
            Some(Terraform::Help) => out.push("--help".into()),
            Some(Terraform::Ignored(_)) => {}
            Some(Terraform::Refused(why)) => {
                return Err(format!(
                    "-{name} is a Terraform flag ssmform has no equivalent for: {why}"
                ));
            }
            Some(Terraform::Version) | None => {
                let names = long_names(&path);
                let mut message = format!("unknown flag -{name} for `{}`", command_name(&path));
                if let Some(s) =
                    crate::suggest::did_you_mean(name, names.iter().map(String::as_str))
                {
                    message.push_str(&format!("; did you mean -{s} (--{s})?"));
                }
                message.push_str(&format!(
                    "\n  See `{} --help` for its flags.",
                    command_name(&path)
                ));
                return Err(message);
            }
        }
    }
    Ok(out)
}

/// `name=value` → (`name`, true); `name` → (`name`, false).
fn split_value(word: &str) -> (&str, bool) {
    match word.split_once('=') {
        Some((name, _)) => (name, true),
        None => (word, false),
    }
}

/// The command line so far, as the user would type it: `ssmform plan`.
fn command_name(path: &[&Command]) -> String {
    path.iter()
        .map(|c| c.get_name())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The long flag `name` of the current command, or a global flag of one above it.
fn find_long<'a>(path: &[&'a Command], name: &str) -> Option<&'a clap::Arg> {
    let (current, above) = path.split_last().expect("the root");
    current
        .get_arguments()
        .find(|a| a.get_long() == Some(name) || has_alias(a, name))
        .or_else(|| {
            above.iter().rev().find_map(|c| {
                c.get_arguments()
                    .find(|a| a.is_global_set() && a.get_long() == Some(name))
            })
        })
}

fn has_alias(a: &clap::Arg, name: &str) -> bool {
    a.get_all_aliases()
        .is_some_and(|aliases| aliases.contains(&name))
}

/// Every long flag the current command accepts (its own and the global ones above it).
fn long_names(path: &[&Command]) -> Vec<String> {
    let (current, above) = path.split_last().expect("the root");
    let mut names: Vec<String> = current
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    for c in above {
        names.extend(
            c.get_arguments()
                .filter(|a| a.is_global_set())
                .filter_map(|a| a.get_long().map(str::to_string)),
        );
    }
    names.push("help".into());
    names
}

/// Whether the long flag `name` takes its value from the next argument when written without `=`.
fn takes_value(path: &[&Command], name: &str) -> bool {
    find_long(path, name).is_some_and(arg_takes_separate_value)
}

fn arg_takes_separate_value(a: &clap::Arg) -> bool {
    a.get_action().takes_values()
        && !a.is_require_equals_set()
        && a.get_num_args().is_none_or(|n| n.min_values() > 0)
}

fn short_takes_value(path: &[&Command], short: char) -> bool {
    path.last()
        .expect("the root")
        .get_arguments()
        .find(|a| a.get_short() == Some(short))
        .is_some_and(arg_takes_separate_value)
}

/// `-ofile`: a short flag that takes a value, written with the value attached.
fn is_short_with_value(current: &Command, word: &str) -> bool {
    let Some(first) = word.chars().next() else {
        return false;
    };
    current
        .get_arguments()
        .any(|a| a.get_short() == Some(first) && a.get_action().takes_values())
        && !current
            .get_arguments()
            .any(|a| a.get_long() == Some(split_value(word).0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn rw(args: &[&str]) -> Result<Vec<String>, String> {
        let mut all = vec!["ssmform"];
        all.extend(args);
        rewrite(
            all.iter().map(OsString::from).collect(),
            &super::super::Cli::command(),
        )
        .map(|v| {
            v.into_iter()
                .skip(1)
                .map(|a| a.into_string().unwrap())
                .collect()
        })
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            rw(&["apply", "-auto-approve", "-var", "x=y", "-var=a=b", "dir"]).unwrap(),
            [
                "apply",
                "--auto-approve",
                "--var",
                "x=y",
                "--var=a=b",
                "dir"
            ]
        );
        assert_eq!(
            rw(&[
                "plan",
                "-out=p",
                "-detailed-exitcode",
                "-lock=false",
                "-lock-timeout=3s"
            ])
            .unwrap(),
            [
                "plan",
                "--out=p",
                "--detailed-exitcode",
                "--lock=false",
                "--lock-timeout=3s"
            ]
        );
        assert_eq!(
            rw(&["-chdir=d", "plan", "-no-color", "-json"]).unwrap(),
            ["--chdir=d", "plan", "--no-color", "--format=json"]
        );
        assert_eq!(rw(&["version", "-json"]).unwrap(), ["version", "--json"]);
        assert_eq!(rw(&["-version"]).unwrap(), ["version"]);
        assert_eq!(rw(&["-v", "-json"]).unwrap(), ["version", "--json"]);
    }

    #[test]
    fn values_are_never_rewritten() {
        assert_eq!(
            rw(&["plan", "-var-file", "-odd-name", "-target", "secret.x"]).unwrap(),
            ["plan", "--var-file", "-odd-name", "--target", "secret.x"]
        );
        assert_eq!(
            rw(&["plan", "--", "-auto-approve"]).unwrap(),
            ["plan", "--", "-auto-approve"]
        );
        assert_eq!(
            rw(&["sops", "encrypt", "-o", "-x", "f", "-ofile"]).unwrap(),
            ["sops", "encrypt", "-o", "-x", "f", "-ofile"]
        );
    }

    #[test]
    fn no_ops_are_dropped_and_missing_equivalents_refused() {
        assert_eq!(
            rw(&[
                "apply",
                "-input=false",
                "-compact-warnings",
                "-auto-approve"
            ])
            .unwrap(),
            ["apply", "--auto-approve"]
        );
        let e = rw(&["plan", "-refresh-only"]).unwrap_err();
        assert!(
            e.contains("-refresh-only") && e.contains("--detailed-exitcode"),
            "{e}"
        );
        let e = rw(&["plan", "-chdir=x"]).unwrap_err();
        assert!(e.contains("before the subcommand"), "{e}");
        let e = rw(&["plan", "-detailed-exitcod"]).unwrap_err();
        assert!(e.contains("did you mean -detailed-exitcode"), "{e}");
        let e = rw(&["graph", "-json"]).unwrap_err();
        assert!(e.contains("no JSON output"), "{e}");
    }

    #[test]
    fn every_refused_flag_is_unknown_to_every_command() {
        fn walk(c: &Command, names: &mut Vec<String>) {
            names.extend(
                c.get_arguments()
                    .filter_map(|a| a.get_long().map(str::to_string)),
            );
            for s in c.get_subcommands() {
                walk(s, names);
            }
        }
        let mut names = Vec::new();
        walk(&super::super::Cli::command(), &mut names);
        for (flag, t) in TERRAFORM_FLAGS {
            if matches!(t, Terraform::Refused(_) | Terraform::Ignored(_)) {
                assert!(!names.contains(&flag.to_string()), "-{flag} is ours now");
            }
        }
    }
}
