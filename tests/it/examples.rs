//! The examples under `examples/` work as their READMEs say, on the embedded emulator
//! (`endpoint = "local"`), and the CI recipes call only commands that exist.
//!
//! Every run works on a copy of an example in a temporary directory, so the tests never leave a
//! `.ssmform/` store in the repository. The quickstart test runs the README's tour command by
//! command and checks that the README shows those commands and that output; the CI test parses
//! both pipeline files as YAML, checks every `ssmform` command line in them against the clap
//! command tree, then runs those commands in pipeline order on a copy of the quickstart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use serde_json::Value;
use ssmform::cli::Cli;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{Leaks, Output, Ssmform, temp_dir};

pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Copy `examples/<name>` to `<root>/examples/<name>` (without any `.ssmform/` a developer's own
/// runs left behind) and return the copy's path.
fn copy_example(name: &str, root: &Path) -> PathBuf {
    let to = root.join("examples").join(name);
    copy_dir(&examples_dir().join(name), &to);
    to
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".ssmform" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

#[test]
fn fingerprints_are_masked_for_comparison() {
    assert_eq!(
        mask_fingerprints(
            "x (48 → 49 bytes, fingerprint 2de056c9 → 20e4462e) fingerprint 96400f7a)"
        ),
        "x (48 → 49 bytes, fingerprint ######## → ########) fingerprint ########)"
    );
    assert_eq!(mask_fingerprints("fingerprint of x"), "fingerprint of x");
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// The summary line (`Plan: ...` or `Apply complete! ...`) that starts with `prefix`.
#[track_caller]
fn line_starting<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

// ---------------------------------------------------------------------------------------------
// The examples and what each needs to plan

/// A configuration example and how to plan it.
struct Example {
    /// Directory under `examples/`.
    dir: &'static str,
    /// Extra arguments for `plan` and `apply` (variables files).
    args: &'static [&'static str],
    /// Configurations under `examples/` to apply first (the data source's upstream).
    before: &'static [&'static str],
    /// Secrets declared: the first plan creates them all.
    secrets: usize,
    /// Environment variables for plan and apply (paths relative to the copy's root).
    env: &'static [(&'static str, &'static str)],
}

const EXAMPLES: &[Example] = &[
    Example {
        dir: "quickstart",
        args: &[],
        before: &[],
        secrets: 3,
        env: &[],
    },
    Example {
        dir: "json-config",
        args: &[],
        before: &[],
        secrets: 2,
        env: &[],
    },
    Example {
        dir: "dependencies",
        args: &[],
        before: &[],
        secrets: 5,
        env: &[],
    },
    Example {
        dir: "binary",
        args: &[],
        before: &[],
        secrets: 2,
        env: &[],
    },
    Example {
        dir: "multi-env",
        args: &["--var-file", "examples/multi-env/staging.vars.hcl"],
        before: &[],
        secrets: 2,
        env: &[],
    },
    Example {
        dir: "multi-env",
        args: &["--var-file", "examples/multi-env/prod.vars.hcl"],
        before: &[],
        secrets: 2,
        env: &[],
    },
    Example {
        dir: "data-source/platform",
        args: &[],
        before: &[],
        secrets: 1,
        env: &[],
    },
    Example {
        dir: "data-source",
        args: &[],
        before: &["data-source/platform"],
        secrets: 2,
        env: &[],
    },
    Example {
        dir: "sops",
        args: &[],
        before: &[],
        secrets: 3,
        env: &[("SOPS_AGE_KEY_FILE", "examples/sops/TEST-ONLY-age-key.txt")],
    },
];

/// Every directory under `examples/` that holds configuration files, as a relative path.
fn configuration_dirs() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, found: &mut Vec<String>) {
        let mut has_config = false;
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                let sub = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                walk(&entry.path(), &sub, found);
            } else if name.ends_with(".hcl") && !name.ends_with(".vars.hcl") {
                has_config = true;
            }
        }
        if has_config {
            found.push(rel.to_string());
        }
    }
    let mut found = Vec::new();
    walk(&examples_dir(), "", &mut found);
    found.sort();
    found
}

#[test]
fn every_example_directory_is_covered_here_and_has_a_readme() {
    let mut covered: Vec<String> = EXAMPLES.iter().map(|e| e.dir.to_string()).collect();
    covered.sort();
    covered.dedup();
    assert_eq!(
        configuration_dirs(),
        covered,
        "a configuration under examples/ is missing from EXAMPLES (or EXAMPLES names one that \
         is gone)"
    );
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            let readme = dir.join("README.md");
            let text = std::fs::read_to_string(&readme)
                .unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
            assert!(text.starts_with("# "), "{} has no title", readme.display());
        }
    }
}

#[test]
fn every_example_uses_the_embedded_emulator_and_is_formatted() {
    for dir in configuration_dirs() {
        let path = examples_dir().join(&dir);
        let text: String = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "hcl"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(
            text.lines().any(|l| {
                let l = l.trim();
                l.starts_with("endpoint ") && l.ends_with(r#"= "local""#)
            }),
            "examples/{dir} must run on the embedded emulator (endpoint = \"local\")"
        );
        // `fmt --check` only reads.
        let out = Ssmform::new(["fmt", "--check"]).arg(path_str(&path)).run();
        out.assert_success();
    }
}

#[test]
fn every_example_validates_offline() {
    let root = temp_dir();
    for dir in configuration_dirs() {
        let copy = copy_example(&dir, root.path());
        let out = Ssmform::new(["validate"]).arg(path_str(&copy)).run();
        out.assert_success().assert_stdout_contains("Success!");
        assert!(
            !copy.join(".ssmform").exists(),
            "validate is offline: it must not start the emulator for examples/{dir}"
        );
    }
}

/// Plan (everything to create), apply, plan again (nothing to do): each example on its own copy,
/// run from the copy's root with the paths its README uses.
#[test]
fn every_example_plans_and_applies_on_the_embedded_emulator() {
    for ex in EXAMPLES {
        let root = temp_dir();
        let top = ex.dir.split('/').next().unwrap();
        copy_example(top, root.path());
        let run = |args: &[&str]| {
            let mut cmd = Ssmform::new(args.iter().copied()).current_dir(root.path());
            for (k, v) in ex.env {
                cmd = cmd.env(k, *v);
            }
            cmd.run()
        };
        let target = format!("examples/{}", ex.dir);
        for before in ex.before {
            let out = run(&["apply", &format!("examples/{before}"), "--auto-approve"]);
            out.assert_success();
        }

        let mut plan = vec!["plan", target.as_str(), "--detailed-exitcode"];
        plan.extend(ex.args);
        let out = run(&plan);
        out.assert_exit(2);
        assert_eq!(
            line_starting(&out.stdout, "Plan: "),
            format!(
                "Plan: {} to create, 0 to update, 0 to delete, 0 unchanged.",
                ex.secrets
            ),
            "{target} {:?}",
            ex.args
        );

        let mut apply = vec!["apply", target.as_str(), "--auto-approve"];
        apply.extend(ex.args);
        let out = run(&apply);
        out.assert_success();
        assert_eq!(
            line_starting(&out.stdout, "Apply complete!"),
            format!(
                "Apply complete! Secrets: {} created, 0 updated, 0 unchanged.",
                ex.secrets
            )
        );

        let out = run(&plan);
        out.assert_success();
        assert_eq!(
            line_starting(&out.stdout, "Plan: "),
            format!(
                "Plan: 0 to create, 0 to update, 0 to delete, {} unchanged.",
                ex.secrets
            )
        );
        assert!(
            root.path()
                .join("examples")
                .join(top)
                .join(".ssmform/local.db")
                .exists(),
            "the embedded emulator stores its state in .ssmform/local.db of examples/{top}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What the example READMEs promise beyond plan and apply

/// The sops example: without a key `validate` passes and `plan` names the recipient; after
/// `api.key` changes in the SOPS file (decrypted and encrypted again with the TEST-ONLY key, as
/// `sops set` would), the plan is the one its README shows: the key named, its value masked.
#[test]
fn sops_readme_key_diff_and_missing_key_are_what_the_readme_shows() {
    use ssmform::sops::{self, EncryptOptions, Format, KeyEnv, Recipient};
    let root = temp_dir();
    let copy = copy_example("sops", root.path());
    let key_file = "examples/sops/TEST-ONLY-age-key.txt";
    let readme = std::fs::read_to_string(examples_dir().join("sops/README.md")).unwrap();
    Ssmform::new(["validate", "examples/sops"])
        .current_dir(root.path())
        .run()
        .assert_success();
    let out = Ssmform::new(["plan", "examples/sops"])
        .current_dir(root.path())
        .run();
    out.assert_exit(1);
    for line in [
        // (How many identities were tried depends on the machine's ~/.ssh and ~/.config.)
        "error: data.sops_file.app: secrets.enc.yaml: no age identity matches the file's recipients (",
        " --> examples/sops/main.hcl:8:1",
        "  = note: the file is encrypted for: age age13d08qg2c93jz5qxud83x783waykzhmffu80ku4y7r5sj3ncfdv3qypxda6",
    ] {
        out.assert_stderr_contains(line);
        assert!(readme.contains(line), "the README does not show {line:?}");
    }

    let run = |args: &[&str]| {
        Ssmform::new(args.iter().copied())
            .current_dir(root.path())
            .env("SOPS_AGE_KEY_FILE", key_file)
            .run()
    };
    run(&["apply", "examples/sops", "--auto-approve"]).assert_success();
    let file = copy.join("secrets.enc.yaml");
    let keys = KeyEnv::from_vars([(
        "SOPS_AGE_KEY_FILE",
        root.path().join(key_file).into_os_string(),
    )]);
    let plain = sops::decrypt_file(&file, None, &keys)
        .unwrap()
        .raw()
        .unwrap();
    let text = String::from_utf8(plain.expose().to_vec()).unwrap();
    assert!(text.contains("example-api-key-v1"), "the example's api.key");
    let changed = text.replace("example-api-key-v1", "example-api-key-v2");
    let recipient =
        Recipient::parse("age13d08qg2c93jz5qxud83x783waykzhmffu80ku4y7r5sj3ncfdv3qypxda6").unwrap();
    let encrypted = sops::encrypt(
        changed.as_bytes(),
        Format::Yaml,
        &[recipient],
        &EncryptOptions::default(),
    )
    .unwrap();
    std::fs::write(&file, encrypted).unwrap();
    let out = run(&["plan", "examples/sops"]);
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged."
    );
    for line in [
        "  # secret.api will be updated in place",
        "          ~ key = (sensitive)",
        "            # (1 unchanged key hidden)",
        "        }) # 70 bytes, fingerprint 9839d29e → 1982b8ec",
    ] {
        let masked = mask_fingerprints(line);
        assert!(
            out.stdout.lines().any(|l| mask_fingerprints(l) == masked),
            "{line:?} not in\n{}",
            out.stdout
        );
        assert!(readme.contains(line), "the README does not show {line:?}");
    }
    assert!(!out.stdout.contains("example-api-key"), "{}", out.stdout);
}

#[test]
fn data_source_fails_with_its_location_until_the_upstream_secret_exists() {
    let root = temp_dir();
    copy_example("data-source", root.path());
    let out = Ssmform::new(["plan", "examples/data-source"])
        .current_dir(root.path())
        .run();
    out.assert_exit(1);
    out.assert_stderr_contains(
        r#"data.ssm_secret.db_admin: cannot read secret "platform-db-admin""#,
    );
    out.assert_stderr_contains("main.hcl:");
}

#[test]
fn data_source_plan_follows_an_upstream_rotation() {
    let root = temp_dir();
    copy_example("data-source", root.path());
    let run = |args: &[&str]| {
        Ssmform::new(args.iter().copied())
            .current_dir(root.path())
            .run()
    };
    for args in [
        &["apply", "examples/data-source/platform", "--auto-approve"][..],
        &["apply", "examples/data-source", "--auto-approve"],
        &[
            "apply",
            "examples/data-source/platform",
            "--var",
            "admin_password=rotated",
            "--auto-approve",
        ],
    ] {
        run(args).assert_success();
    }
    let out = run(&["plan", "examples/data-source", "--detailed-exitcode"]);
    out.assert_exit(2);
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged."
    );
    out.assert_stdout_contains("# secret.migrations_db_url will be updated in place");
    // The default password is `platform-demo-password`, whose first word is public (the
    // directory and the secret names start with it): the canary is the rest.
    let leaks = Leaks::named([
        ("default admin password", "-demo-password"),
        ("rotated admin password", "rotated"),
    ]);
    out.assert_no_leak(&leaks);
    // Nor in what the runs left behind (journals), the local store and the example aside.
    leaks.assert_tree_clean(root.path(), |p| {
        is_example_file(root.path(), p) || is_store(p)
    });
}

/// The plan each README shows after a `--var` change, checked on a fresh copy.
#[test]
fn readme_plans_after_a_variable_change_are_what_the_readmes_show() {
    struct Case {
        dir: &'static str,
        vars: &'static [&'static str],
        summary: &'static str,
        lines: &'static [&'static str],
    }
    let cases = [
        Case {
            dir: "json-config",
            vars: &["--var", "release=next"],
            summary: "Plan: 0 to create, 2 to update, 0 to delete, 0 unchanged.",
            lines: &[
                "          ~ pool_size       = (sensitive)",
                "          + tracing         = (sensitive)",
                "          - (sensitive key) = (sensitive)",
                "          -   \"pool_size\": 10,",
                "          +   \"pool_size\": 20,",
            ],
        },
        Case {
            dir: "dependencies",
            vars: &["--var", "db_password=rotated-password"],
            summary: "Plan: 0 to create, 3 to update, 0 to delete, 2 unchanged.",
            lines: &[
                "Apply order: 3 waves (wave 1: 1 change, wave 2: 1 change, wave 3: 1 change).",
            ],
        },
        Case {
            dir: "binary",
            vars: &["--var", "keytab_file=files/service-v2.keytab"],
            summary: "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged.",
            lines: &[
                "      ~ secret_binary = (sensitive value, 64 bytes, fingerprint 96400f7a → 50a08627)",
            ],
        },
    ];
    for case in cases {
        let root = temp_dir();
        copy_example(case.dir, root.path());
        let target = format!("examples/{}", case.dir);
        let out = Ssmform::new(["apply", target.as_str(), "--auto-approve"])
            .current_dir(root.path())
            .run();
        out.assert_success();
        let mut plan = vec!["plan", target.as_str()];
        plan.extend(case.vars);
        let out = Ssmform::new(plan).current_dir(root.path()).run();
        out.assert_success();
        assert_eq!(line_starting(&out.stdout, "Plan: "), case.summary);
        let readme =
            std::fs::read_to_string(examples_dir().join(case.dir).join("README.md")).unwrap();
        for line in case.lines {
            let masked = mask_fingerprints(line);
            assert!(
                out.stdout.lines().any(|l| mask_fingerprints(l) == masked),
                "{target}: {line:?} not in\n{}",
                out.stdout
            );
            assert!(
                readme.contains(line.trim_start()),
                "{target}/README.md does not show {line:?}"
            );
        }
        let command = format!(
            "cargo run --release -- plan {target} {}",
            case.vars.join(" ")
        );
        assert!(readme.contains(&command), "README lacks {command:?}");
    }
}

#[test]
fn multi_env_without_a_variables_file_names_every_missing_variable() {
    let root = temp_dir();
    copy_example("multi-env", root.path());
    let out = Ssmform::new(["plan", "examples/multi-env"])
        .current_dir(root.path())
        .run();
    out.assert_exit(1);
    for var in ["env", "region", "replicas"] {
        out.assert_stderr_contains(&format!("error: variable `{var}` has no value"));
    }
}

// ---------------------------------------------------------------------------------------------
// The quickstart tour, as examples/quickstart/README.md tells it

/// The README's commands without the `cargo run --release --` prefix.
const CARGO_RUN: &str = "cargo run --release -- ";

#[test]
fn quickstart_readme_tour_works_as_written() {
    let readme = std::fs::read_to_string(examples_dir().join("quickstart/README.md")).unwrap();
    let root = temp_dir();
    let dir = copy_example("quickstart", root.path());
    // Run a README command (checked to be in the README, verbatim) in the copy's root.
    let step = |command: &str| -> Output {
        let line = format!("{CARGO_RUN}{command}");
        assert!(
            readme_shows_command(&readme, &line),
            "the README does not show `{line}`"
        );
        let args: Vec<&str> = command.split_whitespace().collect();
        Ssmform::new(args).current_dir(root.path()).run()
    };

    // 1. Create.
    let out = step("apply examples/quickstart --auto-approve");
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged."
    );
    assert_eq!(
        line_starting(&out.stdout, "Apply complete!"),
        "Apply complete! Secrets: 3 created, 0 updated, 0 unchanged."
    );
    assert!(readme.contains("Apply complete! Secrets: 3 created, 0 updated, 0 unchanged."));
    assert!(dir.join(".ssmform/local.db").exists());
    let out = step("plan examples/quickstart");
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged."
    );

    // 2. Change one value, as the README's one-liner does.
    assert!(
        readme.contains(r#"perl -pi -e 's/"info"/"debug"/' examples/quickstart/main.hcl"#),
        "the README's edit command changed: update this test"
    );
    let main = dir.join("main.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    assert_eq!(text.matches(r#""info""#).count(), 1, "one value to change");
    std::fs::write(&main, text.replace(r#""info""#, r#""debug""#)).unwrap();

    let out = step("plan examples/quickstart");
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged."
    );
    assert_eq!(out.stdout.matches("will be updated in place").count(), 1);
    // The README shows this plan verbatim.
    let shown = readme_block_after(
        &readme,
        "cargo run --release -- plan examples/quickstart\n```",
    );
    assert!(
        mask_fingerprints(&out.stdout).contains(&mask_fingerprints(&shown)),
        "the README's plan differs from the real one:\n--- README\n{shown}\n--- real\n{}",
        out.stdout
    );
    let out = Ssmform::new(["plan", "examples/quickstart", "--detailed-exitcode"])
        .current_dir(root.path())
        .run();
    out.assert_exit(2);

    // 3. Saved plan: plan --out, show --format markdown, apply the file, nothing left.
    let out = step("plan examples/quickstart --out quickstart.ssmplan");
    out.assert_success();
    let plan_file = root.path().join("quickstart.ssmplan");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&plan_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "plan files are private");
    }
    let out = step("show quickstart.ssmplan --format markdown");
    out.assert_success();
    assert!(
        out.stdout
            .starts_with("**Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged.**"),
        "{}",
        out.stdout
    );
    out.assert_stdout_contains("<details>");
    let out = step("apply quickstart.ssmplan");
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Apply complete!"),
        "Apply complete! Secrets: 0 created, 1 updated, 2 unchanged."
    );
    let out = step("plan examples/quickstart --detailed-exitcode");
    out.assert_success();
    assert_eq!(
        line_starting(&out.stdout, "Plan: "),
        "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged."
    );

    // 4. Drift: a value changed behind ssmform's back; the nightly check exits 2 with a report.
    let out = step("apply examples/quickstart --var db_password=changed-by-hand --auto-approve");
    out.assert_success();
    let out = step("plan examples/quickstart --detailed-exitcode --format json");
    out.assert_exit(2);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let changed: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "planned_change")
        .map(|l| l["change"]["resource"]["addr"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["secret.db_password", "secret.db_url"]);
    let summary = lines
        .iter()
        .find(|l| l["type"] == "change_summary")
        .unwrap();
    assert_eq!(summary["changes"]["change"], 2);
    assert!(readme.contains(
        "Put things\nback with `cargo run --release -- apply examples/quickstart --auto-approve`"
    ));
    let out = step("apply examples/quickstart --auto-approve");
    out.assert_success();
    let out = Ssmform::new(["plan", "examples/quickstart", "--detailed-exitcode"])
        .current_dir(root.path())
        .run();
    out.assert_success();

    // Never a secret in any output: checked on a plan that involves both values.
    let out = Ssmform::new([
        "plan",
        "examples/quickstart",
        "--var",
        "db_password=changed-by-hand",
    ])
    .current_dir(root.path())
    .run();
    // The default password is `quickstart-demo-password`, whose first word is public (the
    // directory and the secret names start with it): the canary is the rest.
    let leaks = Leaks::named([
        ("default password", "-demo-password"),
        ("password given with --var", "changed-by-hand"),
    ]);
    out.assert_no_leak(&leaks);
    // Nor in what the tour's runs left behind (journals, plan files), the local store and the
    // example's own files aside.
    leaks.assert_tree_clean(root.path(), |p| {
        is_example_file(root.path(), p) || is_store(p)
    });
}

/// Whether `path` (under `root`, where examples are copied) is a file of an example.
fn is_example_file(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root)
        .is_ok_and(|rel| Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).is_file())
}

/// Whether `path` is a local emulator store (`.ssmform/local.db` and its SQLite companions),
/// which holds the values by design.
fn is_store(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("local.db"))
}

/// Whether a line of `readme` is `command`, alone or followed by a comment, a redirection or
/// `; ...` (so that `plan x` does not match a line that shows `plan x --out f`).
fn readme_shows_command(readme: &str, command: &str) -> bool {
    readme.lines().any(|l| {
        l.trim_start().strip_prefix(command).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with(';')
                || rest.trim_start().starts_with('#')
                || rest.trim_start().starts_with('>')
        })
    })
}

/// The fenced block that follows `anchor` in a README (without its fences), where the block
/// shows output.
/// `text` with every fingerprint (the 8 hex digits after `fingerprint `, and after ` → ` in
/// `fingerprint a → b`) replaced by `########`: in local mode the plan key is random for each
/// configuration directory, so fingerprints differ from run to run and from the READMEs'.
pub(crate) fn mask_fingerprints(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("fingerprint ") {
        let (before, after) = rest.split_at(at + "fingerprint ".len());
        out.push_str(before);
        rest = after;
        loop {
            let hex = rest.chars().take(8).filter(char::is_ascii_hexdigit).count();
            if hex == 8 {
                out.push_str("########");
                rest = &rest[8..];
            }
            match rest.strip_prefix(" → ") {
                Some(r) if hex == 8 => {
                    out.push_str(" → ");
                    rest = r;
                }
                _ => break,
            }
        }
    }
    out.push_str(rest);
    out
}

fn readme_block_after(readme: &str, anchor: &str) -> String {
    let at = readme
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} not in the README"));
    let rest = &readme[at + anchor.len()..];
    let open = rest.find("```\n").expect("an output block") + 4;
    let close = rest[open..].find("```").expect("a closed block");
    rest[open..open + close].to_string()
}

// ---------------------------------------------------------------------------------------------
// CI recipes

/// One `ssmform ...` command found in a CI file.
#[derive(Debug, Clone)]
pub(crate) struct CiCommand {
    file: &'static str,
    /// The shell text it came from.
    pub(crate) raw: String,
    /// Its words after quote removal, redirections dropped, `ssmform` first; `$VAR` kept.
    pub(crate) words: Vec<String>,
}

impl CiCommand {
    /// The words with `$NAME` / `${NAME}` replaced from `vars` (every variable must be known).
    fn argv(&self, vars: &BTreeMap<&str, String>) -> Vec<String> {
        self.words
            .iter()
            .map(|w| expand(w, vars).unwrap_or_else(|v| panic!("{}: unknown ${v}", self.raw)))
            .collect()
    }
}

fn expand(word: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            let end = b.find('}').ok_or_else(|| word.to_string())?;
            (&b[..end], &b[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push_str(vars.get(name).ok_or_else(|| name.to_string())?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// The shell scripts of a GitHub Actions workflow: every step's `run`.
fn github_scripts(doc: &Yaml) -> Vec<String> {
    let jobs = doc["jobs"].as_hash().expect("jobs");
    let mut scripts = Vec::new();
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        assert!(
            job["runs-on"].as_str().is_some(),
            "job {name} has no runs-on"
        );
        for step in job["steps"]
            .as_vec()
            .unwrap_or_else(|| panic!("{name}: steps"))
        {
            assert!(
                step["run"].as_str().is_some() || step["uses"].as_str().is_some(),
                "{name}: a step without run or uses"
            );
            if let Some(run) = step["run"].as_str() {
                scripts.push(run.to_string());
            }
        }
    }
    scripts
}

/// The shell scripts of a GitLab CI file: every job's (and template's) script lines.
fn gitlab_scripts(doc: &Yaml) -> Vec<String> {
    let top = doc.as_hash().expect("a mapping");
    let stages: Vec<&str> = doc["stages"]
        .as_vec()
        .expect("stages")
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let mut scripts = Vec::new();
    for (name, job) in top {
        let name = name.as_str().unwrap();
        if ["stages", "variables", "default", "include", "workflow"].contains(&name) {
            continue;
        }
        if !name.starts_with('.') {
            let stage = job["stage"].as_str().unwrap_or("test");
            assert!(stages.contains(&stage), "{name}: unknown stage {stage}");
            assert!(job["script"].as_vec().is_some(), "{name} has no script");
        }
        for key in ["before_script", "script", "after_script"] {
            match &job[key] {
                Yaml::Array(lines) => {
                    scripts.extend(lines.iter().map(|l| l.as_str().unwrap().to_string()))
                }
                Yaml::String(s) => scripts.push(s.clone()),
                _ => {}
            }
        }
    }
    scripts
}

/// The `ssmform` commands of shell `script`: split into simple commands at unquoted `;`, `&&`,
/// `||`, `|`, `(`, `)` and newlines (after joining `\` continuations), with comments,
/// redirections, leading `if`/`then`/`!` and variable assignments dropped.
pub(crate) fn ssmform_commands(file: &'static str, script: &str) -> Vec<CiCommand> {
    let script = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in script.lines() {
        let mut words: Vec<String> = Vec::new();
        let mut raw = String::new();
        let mut finish = |words: &mut Vec<String>, raw: &mut String| {
            let mut w: &[String] = words;
            while let Some(first) = w.first() {
                let is_assignment = first.split_once('=').is_some_and(|(n, _)| {
                    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                if ["if", "then", "!", "do", "else"].contains(&first.as_str()) || is_assignment {
                    w = &w[1..];
                } else {
                    break;
                }
            }
            if w.first().is_some_and(|f| f == "ssmform") {
                found.push(CiCommand {
                    file,
                    raw: raw.trim().to_string(),
                    words: strip_redirections(w),
                });
            }
            words.clear();
            raw.clear();
        };
        let mut chars = line.chars().peekable();
        let mut word = String::new();
        let mut in_word = false;
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    raw.push(c);
                    for q in chars.by_ref() {
                        raw.push(q);
                        if q == '\'' {
                            break;
                        }
                        word.push(q);
                    }
                }
                '"' => {
                    in_word = true;
                    raw.push(c);
                    while let Some(q) = chars.next() {
                        raw.push(q);
                        match q {
                            '"' => break,
                            '\\' => {
                                if let Some(e) = chars.next() {
                                    raw.push(e);
                                    word.push(e);
                                }
                            }
                            _ => word.push(q),
                        }
                    }
                }
                '#' if !in_word => break,
                ' ' | '\t' => {
                    raw.push(c);
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                ';' | '|' | '&' | '(' | ')' => {
                    // `2>&1` and `&>` are redirections, not separators.
                    if c == '&' && (word.ends_with('>') || chars.peek() == Some(&'>')) {
                        word.push(c);
                        in_word = true;
                        raw.push(c);
                        continue;
                    }
                    if in_word && !(c == '(' && word.ends_with('$')) {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    } else if c == '(' {
                        // `$(`: a command substitution starts a command.
                        word.clear();
                        in_word = false;
                    }
                    finish(&mut words, &mut raw);
                }
                _ => {
                    in_word = true;
                    raw.push(c);
                    word.push(c);
                }
            }
        }
        if in_word {
            words.push(word);
        }
        finish(&mut words, &mut raw);
    }
    found
}

/// Drop `> FILE`, `2> FILE`, `>> FILE`, `2>&1`, `< FILE` from a command's words.
fn strip_redirections(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
        if op.starts_with('>') || op.starts_with('<') {
            let target = op.trim_start_matches(['>', '<']);
            // `> file` has its target in the next word; `>file` and `2>&1` do not.
            skip_next = target.is_empty();
            continue;
        }
        out.push(w.clone());
    }
    out
}

struct CiFile {
    name: &'static str,
    commands: Vec<CiCommand>,
}

fn ci_files() -> Vec<CiFile> {
    let mut files = Vec::new();
    for (name, scripts) in [
        (
            "github-actions.yml",
            github_scripts as fn(&Yaml) -> Vec<String>,
        ),
        ("gitlab-ci.yml", gitlab_scripts),
    ] {
        let path = examples_dir().join("ci").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()));
        assert_eq!(docs.len(), 1, "{name}: one YAML document");
        let commands = scripts(&docs[0])
            .iter()
            .flat_map(|s| ssmform_commands(name, s))
            .collect();
        files.push(CiFile { name, commands });
    }
    files
}

/// A placeholder for every variable the recipes use in `ssmform` commands.
fn ci_vars(dir: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([("SSMFORM_DIR", dir.to_string())])
}

#[test]
fn shell_splitting_finds_ssmform_commands_and_drops_redirections() {
    let cmds = ssmform_commands(
        "t",
        "set +e\nx=1 ssmform plan \"$D\" --out p --format markdown > plan.md 2> err # note\n\
         command -v ssmform || cargo install ssmform && ssmform --version\n\
         if ssmform show 'a b' 2>&1 | tee x; then :; fi\nv=$(ssmform plan .)\necho ssmform plan",
    );
    let words: Vec<Vec<String>> = cmds.iter().map(|c| c.words.clone()).collect();
    assert_eq!(
        words,
        [
            vec![
                "ssmform", "plan", "$D", "--out", "p", "--format", "markdown"
            ],
            vec!["ssmform", "--version"],
            vec!["ssmform", "show", "a b"],
            vec!["ssmform", "plan", "."],
        ]
    );
    let vars = BTreeMap::from([("D", "dir".to_string())]);
    assert_eq!(expand("${D}/x$D", &vars).unwrap(), "dir/xdir");
    assert_eq!(expand("$NOPE", &vars), Err("NOPE".to_string()));
}

#[test]
fn ci_recipes_are_yaml_that_call_only_existing_commands_and_flags() {
    let files = ci_files();
    let vars = ci_vars("secrets");
    let tree = Cli::command();
    for file in &files {
        assert!(
            file.commands.len() >= 5,
            "{}: found only {:?}",
            file.name,
            file.commands
        );
        for cmd in &file.commands {
            let argv = cmd.argv(&vars);
            match Cli::try_parse_from(&argv) {
                Ok(_) => {}
                Err(e)
                    if e.kind() == clap::error::ErrorKind::DisplayVersion
                        || e.kind() == clap::error::ErrorKind::DisplayHelp => {}
                Err(e) => panic!("{}: `{}` does not parse:\n{e}", cmd.file, cmd.raw),
            }
            if let Some(sub) = argv.get(1).filter(|a| !a.starts_with('-')) {
                assert!(tree.find_subcommand(sub).is_some(), "{}", cmd.raw);
            }
        }
        // The three jobs of the issue: plan --out with a Markdown rendering, apply of the plan
        // file, drift check with a detailed exit code and JSON.
        let has = |sub: &str, flags: &[&str]| {
            file.commands.iter().any(|c| {
                c.words.get(1).is_some_and(|w| w == sub)
                    && flags.iter().all(|f| c.words.iter().any(|w| w == f))
            })
        };
        assert!(
            has("plan", &["--out", "--format", "markdown"]),
            "{}: no `plan --out ... --format markdown`",
            file.name
        );
        assert!(
            file.commands
                .iter()
                .any(|c| c.words[1] == "apply" && c.words[2].ends_with(".ssmplan")),
            "{}: no `apply PLANFILE`",
            file.name
        );
        assert!(
            has("plan", &["--detailed-exitcode", "--format", "json"]),
            "{}: no drift check",
            file.name
        );
    }
}

#[test]
fn github_workflow_runs_on_pull_requests_merges_and_a_schedule() {
    let text = std::fs::read_to_string(examples_dir().join("ci/github-actions.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let on = &doc["on"];
    for trigger in ["pull_request", "push", "schedule"] {
        assert!(!on[trigger].is_badvalue(), "no `{trigger}` trigger");
    }
    assert!(on["schedule"][0]["cron"].as_str().is_some());
    for (job, event) in [
        ("plan", "pull_request"),
        ("apply", "push"),
        ("drift", "schedule"),
    ] {
        let cond = doc["jobs"][job]["if"].as_str().unwrap_or("");
        assert!(
            cond.contains(event),
            "job {job} must run on {event}: {cond}"
        );
    }
    let env = &doc["env"];
    assert_eq!(
        env["SSMFORM_PLAN_KEY"].as_str(),
        Some("${{ secrets.SSMFORM_PLAN_KEY }}"),
        "the plan key comes from the secret store"
    );
    // Credentials are per job (tests/it/credentials_ci.rs), never shared by every job.
    assert!(env["TENCENTCLOUD_SECRET_KEY"].is_badvalue());
}

#[test]
fn gitlab_pipeline_runs_on_merge_requests_the_default_branch_and_a_schedule() {
    let text = std::fs::read_to_string(examples_dir().join("ci/gitlab-ci.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    for (job, condition) in [
        ("ssmform-plan", "merge_request_event"),
        ("ssmform-apply", "$CI_DEFAULT_BRANCH"),
        ("ssmform-drift", "schedule"),
    ] {
        let rule = doc[job]["rules"][0]["if"].as_str().unwrap_or("");
        assert!(rule.contains(condition), "{job}: {rule}");
        assert_eq!(doc[job]["extends"].as_str(), Some(".ssmform"), "{job}");
    }
    let plan_artifacts = doc["ssmform-plan"]["artifacts"]["paths"].as_vec().unwrap();
    assert!(plan_artifacts.contains(&Yaml::String("plan.ssmplan".into())));
    assert_eq!(
        doc["ssmform-drift"]["artifacts"]["when"].as_str(),
        Some("always"),
        "the drift report is kept when the job fails"
    );
    // Credentials are CI/CD variables, never written in the file.
    assert!(doc["variables"]["TENCENTCLOUD_SECRET_KEY"].is_badvalue());
    assert!(doc["variables"]["SSMFORM_PLAN_KEY"].is_badvalue());
}

/// Run each recipe's `ssmform` commands in pipeline order against a copy of the quickstart: the
/// merge request's plan (changes), the apply of its plan file, then the drift check (no drift).
#[test]
fn ci_recipe_commands_run_in_order_on_the_embedded_emulator() {
    for file in ci_files() {
        let root = temp_dir();
        let dir = copy_example("quickstart", root.path());
        let vars = ci_vars(&path_str(&dir));
        for cmd in &file.commands {
            let argv = cmd.argv(&vars);
            let out = Ssmform::new(argv[1..].iter().cloned())
                .current_dir(root.path())
                .run();
            let sub = argv.get(1).map(String::as_str).unwrap_or("");
            let detailed = argv.iter().any(|a| a == "--detailed-exitcode");
            let allowed: &[i32] = if detailed { &[0, 2] } else { &[0] };
            out.assert_exit_in(allowed);
            if sub == "plan" && argv.iter().any(|a| a == "markdown") {
                out.assert_exit(2);
                assert!(
                    out.stdout.starts_with(
                        "**Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.**"
                    ),
                    "{}",
                    out.stdout
                );
            }
            if sub == "apply" {
                out.assert_stdout_contains("Apply complete! Secrets: 3 created");
            }
            if sub == "plan" && argv.iter().any(|a| a == "json") {
                out.assert_success();
                for line in out.stdout.lines() {
                    serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                }
            }
        }
        assert!(root.path().join("plan.ssmplan").exists(), "{}", file.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Completions and manual page

fn subcommand_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn completions_cover_every_subcommand_for_each_shell() {
    let names = subcommand_names();
    assert!(names.contains(&"completions".to_string()) && names.contains(&"man".to_string()));
    for shell in ["bash", "zsh", "fish"] {
        let out = Ssmform::new(["completions", shell]).run();
        out.assert_success();
        assert!(out.stdout.len() > 1000, "{shell}: {}", out.stdout);
        for name in &names {
            assert!(
                out.stdout.contains(name.as_str()),
                "{shell}: {name} missing"
            );
        }
        assert!(
            out.stdout.contains("detailed-exitcode"),
            "{shell}: flags missing"
        );
        assert!(out.stderr.is_empty(), "{shell}: {}", out.stderr);
    }
    let out = Ssmform::new(["completions", "tcsh"]).run();
    out.assert_exit(1).assert_stderr_contains("possible values");
}

#[test]
fn man_page_documents_every_subcommand_and_flag() {
    let out = Ssmform::new(["man"]).run();
    out.assert_success();
    let page = &out.stdout;
    assert!(page.contains(".TH ssmform 1"), "{page}");
    assert_eq!(
        page.matches(".ie \\n(.g .ds Aq").count(),
        1,
        "one roff preamble"
    );
    for sub in Cli::command().get_subcommands() {
        let name = sub.get_name();
        assert!(
            page.contains(&format!(".SS \"ssmform {name}\"")),
            "no section for {name}"
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(page.contains(&roff), "{name} --{long} missing");
            }
        }
    }
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "SSMFORM_PLAN_KEY"] {
        assert!(page.contains(section), "{section} missing");
    }
    // Sub-sections hold no top-level OPTIONS/SYNOPSIS headings of their own.
    assert_eq!(page.matches(".SH OPTIONS").count(), 1);
    assert_eq!(page.matches(".SH SYNOPSIS").count(), 1);
}

#[test]
fn man_out_dir_writes_one_page_per_command() {
    let dir = temp_dir();
    let out_dir = dir.path().join("man1");
    let out = Ssmform::new(["man", "--out-dir"])
        .arg(path_str(&out_dir))
        .run();
    out.assert_success();
    let mut expected = vec!["ssmform.1".to_string()];
    expected.extend(subcommand_names().iter().map(|n| format!("ssmform-{n}.1")));
    for name in &expected {
        let page =
            std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(page.contains(".TH "), "{name}");
        assert!(out.stdout.contains(name.as_str()), "{name} not listed");
    }
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), expected.len());
}

// ---------------------------------------------------------------------------------------------
// local_store

#[test]
fn local_store_without_the_local_endpoint_is_a_warning() {
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("main.hcl"),
        "provider \"tencentcloud\" {\n  local_store = \"x.db\"\n  endpoint    = \"http://127.0.0.1:9\"\n}\n",
    )
    .unwrap();
    let out = Ssmform::new(["validate"]).arg(path_str(dir.path())).run();
    out.assert_success()
        .assert_stderr_contains("warning: `local_store` is ignored: the endpoint is not \"local\"")
        .assert_stderr_contains("main.hcl:2:17");
}

#[test]
fn local_store_is_relative_to_the_configuration_directory_in_either_order() {
    let root = temp_dir();
    let dir = root.path().join("conf");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("main.hcl"),
        "provider \"tencentcloud\" {\n  local_store = \"state/emulator.db\"\n  endpoint    = \"local\"\n}\n\n\
         secret \"a\" {\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = \"x\"\n}\n",
    )
    .unwrap();
    // Run from elsewhere: the store follows the configuration, not the working directory.
    let out = Ssmform::new(["apply", "conf", "--auto-approve"])
        .current_dir(root.path())
        .run();
    out.assert_success();
    assert!(dir.join("state/emulator.db").exists());
    assert!(!dir.join(".ssmform/local.db").exists());
    let out = Ssmform::new(["plan", ".", "--detailed-exitcode"])
        .current_dir(&dir)
        .run();
    out.assert_success();
}
