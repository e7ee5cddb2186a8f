//! The hostile corpus: configurations written by someone who wants a plan to reveal a secret (or
//! by someone careless with one), one directory each under `tests/fixtures/hostile/`, each with a
//! comment at the top of its `main.hcl` saying the attack.
//!
//! Every case is run, against an emulator of its own, through every command that reads a
//! configuration: `validate` (text and JSON), `graph`, `plan` in text, Markdown and JSON, `plan
//! --out` and `show` of the plan file in every format, `apply --auto-approve`, `apply` of the saved
//! plan; then once more with `SSMFORM_LOG=trace` — `validate`, `plan` (JSON), `plan --out`, `show`,
//! `apply --auto-approve` (JSON) and `apply` of that plan, after the first round's apply, so it
//! also plans against what the first wrote — then `fmt --check` and `fmt`. The
//! outcome may be any refusal (exit 1) or success (0 or 2); what is checked is that nothing
//! crashes (no panic, no other exit code, no hang), that no canary appears, in any form the
//! shared leak check knows ([`Leaks`]), in any run's stdout or stderr or in any file the runs leave
//! (plan files, journals, `.ssmform/`, `HOME`), and that no output holds a control character
//! (terminal escapes, `\r`) that a configuration, an input or the server put there.
//!
//! A case directory holds its configuration files, copied into the workspace's `cfg/` (the
//! workspace adds `provider.hcl`, pointing at the emulator), and optionally:
//!
//! - `args`: command-line arguments for `validate`, `graph`, `plan` and `apply`, one per line
//!   (paths relative to the workspace root, where runs start; `cfg/` is the configuration);
//! - `env`: `NAME=value` lines, the environment of every run;
//! - `seed`: live state, one line each: `secret NAME VERSION VALUE`, `binary NAME VERSION VALUE`
//!   (the bytes of VALUE), `version NAME VERSION VALUE` (another version), `shown NAME VERSION
//!   VALUE` (the marker `apply` sets for a `sensitive = false` block, for VALUE), `disabled NAME`,
//!   `described NAME TEXT` (a description); VALUE and TEXT are the rest of the line with `\n`,
//!   `\t`, `\e`, `\xHH` and `\\` escapes;
//! - `faults`: the emulator's `--faults` spec (`echo=1,echo_on=CreateSecret`);
//! - `provider`: lines added inside the workspace's provider block;
//! - `local`: present for `endpoint = "local"` cases: no emulator and no `provider.hcl` from the
//!   workspace; the seed goes into the local store `cfg/.ssmform/local.db`, which legitimately
//!   holds secrets and is not searched;
//! - `links`: `PATH -> TARGET` lines, symbolic links made in the workspace (PATH relative to the
//!   workspace root);
//! - `fifos`: paths (relative to the workspace root) made named pipes;
//! - `outside/`: files copied to the workspace root's `outside/`, beside `cfg/` (for reads out of
//!   the directory);
//! - `home/`: files copied to the workspace's `home/`, the runs' `HOME` (credentials files);
//! - `canaries`: extra canaries, one per line (the runner also takes every word of any file of the
//!   case that starts with `CANARY` and ends with `7f3a`);
//! - `expect`: lines, each of which some run must print (on stdout or stderr): that the attack
//!   reaches the code it targets rather than failing early for another reason. (With
//!   `HOSTILE_CORPUS_DUMP=DIR` in the test's environment, what each case's runs printed is written
//!   to `DIR/<case>.txt`.)
//!
//! Canaries are distinct and unlikely: `CANARY_<case>_<n>_7f3a` (underscores, so that a canary
//! typed without quotes is one bare word), placed only where a value is secret.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssmform::emulator::{EmulatorConfig, FaultSpec, RateLimits};

use crate::support::{Leaks, Output, Seed, TestEmulator, Workspace, temp_dir};

const CORPUS: &str = "tests/fixtures/hostile";

/// Files of a case directory that describe the case rather than belong to its configuration.
const META: &[&str] = &[
    "args", "env", "seed", "faults", "local", "links", "fifos", "canaries", "expect", "provider",
];

/// How long one run may take before it counts as hung (a read blocked on a FIFO, say). Not a
/// speed target: a run takes a fraction of a second.
const HANG: Duration = Duration::from_secs(120);

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    seed: Seed,
    faults: Option<String>,
    local: bool,
    links: Vec<(String, String)>,
    fifos: Vec<String>,
    canaries: BTreeSet<String>,
    expect: Vec<String>,
    provider: Option<String>,
}

fn lines(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `\n`, `\t`, `\r`, `\e`, `\xHH` and `\\` in a seed value; other escapes are kept as written.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'e' => out.push(0x1b),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("\\xHH");
                    out.push(u8::from_str_radix(hex, 16).expect("\\xHH"));
                    i += 2;
                }
                // Anything else stays as written (`\u001b` in a JSON document).
                other => out.extend_from_slice(&[b'\\', other]),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

fn parse_seed(dir: &Path) -> Seed {
    let mut seed = Seed::new();
    for line in lines(dir, "seed") {
        let mut parts = line.splitn(4, ' ');
        let verb = parts.next().unwrap();
        let name = parts.next().expect("seed: a name").to_string();
        if verb == "disabled" {
            seed = seed.disabled(name);
            continue;
        }
        if verb == "described" {
            let rest = parts.collect::<Vec<_>>().join(" ");
            let text = String::from_utf8(unescape(&rest)).expect("seed: a UTF-8 description");
            seed = seed.described(name, text);
            continue;
        }
        let version = parts.next().expect("seed: a version").to_string();
        let value = unescape(parts.next().expect("seed: a value"));
        let text = || String::from_utf8(value.clone()).expect("seed: a UTF-8 value");
        seed = match verb {
            "secret" => seed.secret(name, &version, text()),
            "binary" => seed.binary(name, &version, &value),
            "version" => seed.version(name, &version, text()),
            "shown" => seed.shown(name, &version, &text()),
            other => panic!("seed: unknown line kind {other}"),
        };
    }
    seed
}

/// Every word `CANARY…7f3a` in `text`.
fn canaries_in(text: &[u8], out: &mut BTreeSet<String>) {
    let word = |c: u8| c.is_ascii_alphanumeric() || b"_-.".contains(&c);
    let mut i = 0;
    while let Some(at) = find(&text[i..], b"CANARY") {
        let start = i + at;
        let mut end = start;
        while end < text.len() && word(text[end]) {
            end += 1;
        }
        let run = &text[start..end];
        let last = (0..run.len().saturating_sub(3))
            .rev()
            .find(|&j| &run[j..j + 4] == b"7f3a")
            .unwrap_or_else(|| {
                panic!(
                    "a canary that does not end in 7f3a: {}",
                    String::from_utf8_lossy(run)
                )
            });
        out.insert(String::from_utf8_lossy(&run[..last + 4]).into_owned());
        i = start + 6;
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_of(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

impl Case {
    fn load(name: &str) -> Case {
        let dir = PathBuf::from(CORPUS).join(name);
        assert!(dir.is_dir(), "no case directory {}", dir.display());
        let mut canaries: BTreeSet<String> = lines(&dir, "canaries").into_iter().collect();
        for f in files_of(&dir) {
            canaries_in(&std::fs::read(&f).unwrap(), &mut canaries);
        }
        let main = std::fs::read_to_string(dir.join("main.hcl")).unwrap_or_default();
        assert!(
            main.starts_with('#') || main.starts_with("//"),
            "{name}: main.hcl starts with a comment saying the attack"
        );
        assert!(!canaries.is_empty(), "{name}: a case needs canaries");
        Case {
            name: name.to_string(),
            args: lines(&dir, "args"),
            env: lines(&dir, "env")
                .into_iter()
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("env lines are NAME=value");
                    (k.to_string(), v.to_string())
                })
                .collect(),
            seed: parse_seed(&dir),
            faults: lines(&dir, "faults").into_iter().next(),
            local: dir.join("local").exists(),
            links: lines(&dir, "links")
                .into_iter()
                .map(|l| {
                    let (p, t) = l
                        .split_once(" -> ")
                        .expect("links lines are PATH -> TARGET");
                    (p.to_string(), t.to_string())
                })
                .collect(),
            fifos: lines(&dir, "fifos"),
            expect: lines(&dir, "expect"),
            provider: std::fs::read_to_string(dir.join("provider")).ok(),
            canaries,
            dir,
        }
    }

    /// The case's files in the workspace: `outside/` and `home/` beside `cfg/`, the rest in `cfg/`.
    fn copy_into(&self, ws: &Workspace) {
        for f in files_of(&self.dir) {
            let rel = f.strip_prefix(&self.dir).unwrap();
            let rel_str = rel.to_str().unwrap();
            if META.contains(&rel_str) {
                continue;
            }
            let to = if rel.starts_with("outside") || rel.starts_with("home") {
                rel_str.to_string()
            } else {
                format!("cfg/{rel_str}")
            };
            ws.file(&to, std::fs::read(&f).unwrap());
        }
        for (link, target) in &self.links {
            let p = ws.path(link);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &p).unwrap();
        }
        for fifo in &self.fifos {
            let c = std::ffi::CString::new(ws.path(fifo).to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Run to completion, or fail (and kill the run) if it hangs. A watchdog thread kills a run that
/// outlives [`HANG`]; the run itself is waited for without polling.
fn run(ws: &Workspace, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut c = ws.command(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let line = format!(
        "{}ssmform {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect::<String>(),
        args.join(" ")
    );
    let running = crate::support::Running::start(line.clone(), c);
    let pid = libc::pid_t::try_from(running.pid()).expect("a pid");
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let hung = matches!(
            finished.recv_timeout(HANG),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        );
        if hung {
            // SAFETY: kill(2) with a pid and a signal number; the child is not reaped yet (the
            // test thread is still waiting for it), so the pid is still the run's.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        hung
    });
    let out = running.wait();
    let _ = done.send(());
    assert!(
        !watchdog.join().expect("the watchdog"),
        "`{line}` did not end within {HANG:?}: a read blocked?"
    );
    out
}

/// What every run must satisfy: an ordinary exit, no panic, no canary.
#[track_caller]
fn check(out: &Output, leaks: &Leaks, shown: &mut String) {
    out.assert_exit_in(&[0, 1, 2]);
    assert!(
        !out.stderr.contains("panicked at") && !out.stdout.contains("panicked at"),
        "a panic:\n{}",
        out.report()
    );
    out.assert_no_leak(leaks);
    // Nothing a configuration, an input or the server holds reaches the terminal as a control
    // character (runs have NO_COLOR=1, so ssmform itself writes none).
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "a control character on {stream}:\n{}",
            out.report().escape_debug()
        );
    }
    shown.push_str(&out.stdout);
    shown.push_str(&out.stderr);
}

fn run_case(name: &str) {
    let case = Case::load(name);
    let leaks = Leaks::new(&case.canaries);
    // The emulator's store is kept out of the workspace: it holds the seeded values.
    let store_dir = temp_dir();
    let emu;
    let ws = if case.local {
        let ws = Workspace::bare();
        let db = ws.path("cfg/.ssmform/local.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        block_on(case.seed.write_store(&db));
        ws.mark_input("cfg/.ssmform/local.db");
        ws
    } else {
        let db = store_dir.path().join("store.db");
        block_on(case.seed.write_store(&db));
        emu = TestEmulator::with(EmulatorConfig {
            db: Some(db),
            rate_limits: RateLimits::Off,
            faults: case
                .faults
                .as_deref()
                .map(|f| FaultSpec::parse(f).expect("faults spec"))
                .unwrap_or_default(),
            ..EmulatorConfig::default()
        });
        Workspace::new(&emu)
    };
    let ws = case.env.iter().fold(ws, |ws, (k, v)| ws.env(k, v.as_str()));
    if let Some(extra) = &case.provider {
        ws.provider(extra.trim_end());
    }
    case.copy_into(&ws);

    let mut shown = String::new();
    let with_args = |words: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        v.extend(case.args.iter().cloned());
        v
    };
    let plain = |words: &[&str]| -> Vec<String> { words.iter().map(|s| s.to_string()).collect() };
    // Round 0 runs every command in every format; round 1, at SSMFORM_LOG=trace after round 0's
    // apply, runs each command once more (what trace adds is logging, which does not depend on
    // the output format): validate, a plan, a saved plan, apply in JSON and of the saved plan.
    for round in 0..2 {
        let trace = round == 1;
        let env: &[(&str, &str)] = if trace {
            &[("SSMFORM_LOG", "trace")]
        } else {
            &[]
        };
        let plan_file = format!("plan-{round}.ssmplan");
        let mut runs = vec![with_args(&["validate", "cfg"])];
        let (plan_formats, show_formats, apply_formats): (&[&str], &[&str], &[&str]) = if trace {
            (&["json"], &["text"], &["json"])
        } else {
            runs.push(with_args(&["validate", "cfg", "--format", "json"]));
            runs.push(with_args(&["graph", "cfg"]));
            (
                &["text", "markdown", "json"],
                &["text", "markdown", "json"],
                &["text"],
            )
        };
        for format in plan_formats {
            runs.push(with_args(&["plan", "cfg", "--format", format]));
        }
        runs.push(with_args(&["plan", "cfg", "--out", &plan_file]));
        for args in runs {
            check(&run(&ws, &args, env), &leaks, &mut shown);
        }
        if ws.path(&plan_file).exists() {
            for format in show_formats {
                let out = run(&ws, &plain(&["show", &plan_file, "--format", format]), env);
                check(&out, &leaks, &mut shown);
            }
        }
        for format in apply_formats {
            let args = with_args(&["apply", "cfg", "--auto-approve", "--format", format]);
            check(&run(&ws, &args, env), &leaks, &mut shown);
        }
        if ws.path(&plan_file).exists() {
            let out = run(
                &ws,
                &with_args(&["apply", &plan_file, "--auto-approve"]),
                env,
            );
            check(&out, &leaks, &mut shown);
        }
    }
    for args in [&["fmt", "cfg", "--check"][..], &["fmt", "cfg"]] {
        let out = run(&ws, &plain(args), &[("SSMFORM_LOG", "trace")]);
        check(&out, &leaks, &mut shown);
    }
    ws.assert_no_leak_in_files(&leaks);
    // For whoever writes a case: what the runs printed, to check the attack reaches its target.
    if let Some(dir) = std::env::var_os("HOSTILE_CORPUS_DUMP") {
        std::fs::write(Path::new(&dir).join(format!("{}.txt", case.name)), &shown).unwrap();
    }
    for e in &case.expect {
        assert!(
            shown.contains(e.as_str()),
            "{}: no run printed {e:?}; the attack does not reach its target:\n{shown}",
            case.name
        );
    }
}

macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
    };
}

corpus![
    bare_words_in_environment_variables,
    bare_words_in_sensitive_defaults,
    bare_words_in_var_arguments,
    bare_words_in_variable_files,
    blocks_in_variable_files,
    careless_credentials_files,
    comments_and_bare_words_in_name_blocks,
    configuration_file_links_to_the_environment,
    control_characters_in_key_names,
    control_characters_in_live_content,
    control_characters_in_names,
    credentials_in_endpoint_urls,
    credentials_in_malformed_endpoint_urls,
    data_source_named_by_a_sensitive_variable,
    deep_nesting_around_secrets,
    deeply_nested_file_content,
    device_and_process_paths,
    duplicates_and_cycles_with_sensitive_values,
    fifos_named_like_configuration,
    file_reads_outside_the_directory,
    file_reads_the_local_store,
    file_reads_the_state_directory,
    function_calls_typed_as_values,
    function_errors_with_file_content,
    function_errors_with_live_arguments,
    function_errors_with_sensitive_arguments,
    index_with_sensitive_number,
    lifecycle_attributes_from_secrets,
    links_out_of_the_directory,
    local_mode_store_settings,
    long_lines_around_secrets,
    many_secrets_listed_by_an_echoing_server,
    map_keys_in_variable_values,
    misplaced_attributes_and_blocks,
    names_from_live_values,
    names_from_sensitive_values,
    non_utf8_files_with_secrets,
    object_keys_from_files_and_other_secrets,
    object_keys_from_live_json,
    object_keys_from_sensitive_variables,
    object_keys_in_variable_files,
    object_public_keys_with_sensitive_values,
    operator_errors_with_sensitive_operands,
    orphans_and_live_descriptions,
    provider_settings_from_sensitive_values,
    secret_content_size_and_kind_errors,
    sensitive_content_everywhere_baseline,
    sensitive_false_binary_content,
    sensitive_false_from_a_data_source,
    sensitive_false_from_another_secret,
    sensitive_false_from_files,
    sensitive_false_on_an_existing_secret,
    sensitive_false_through_control_flow,
    sensitive_false_through_string_functions,
    sensitive_false_with_a_forged_or_stale_marker,
    server_echoes_binary_and_json_content,
    server_echoes_reads,
    server_echoes_writes,
    syntax_error_after_a_secret_on_the_same_line,
    syntax_error_in_template_interpolation,
    syntax_error_stray_quote,
    syntax_error_unterminated_heredoc,
    syntax_errors_in_variable_files,
    template_directive_errors_with_sensitive_values,
    template_directives_over_sensitive_values,
    type_errors_in_sensitive_variables,
    unformatted_files_with_secrets_for_fmt,
    unknown_attributes_in_sensitive_variables,
    var_arguments_without_names,
    var_file_argument_links_to_the_environment,
    var_file_argument_outside_with_errors,
];

#[test]
fn every_case_directory_is_in_the_corpus() {
    let mut dirs: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    let mut cases: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    cases.sort();
    assert_eq!(dirs, cases);
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
}

#[test]
fn canaries_are_found_in_case_files() {
    let mut found = BTreeSet::new();
    canaries_in(
        b"default = CANARY_a_1_7f3a\n\"CANARY-b-2-7f3a\" x CANARY_c_3_7f3a_7f3a!",
        &mut found,
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["CANARY-b-2-7f3a", "CANARY_a_1_7f3a", "CANARY_c_3_7f3a_7f3a"]
    );
    assert_eq!(unescape(r"a\e[2J\x07\\n"), b"a\x1b[2J\x07\\n");
}
