//! Hostile inputs are refused by size before the memory or the time is spent (issue 11, problems
//! 4, 8, 9 and 10): files, values, templates and collections have limits named in the error;
//! diagnostics cost the same on a huge line as on a short one; a byte-order mark, CRLF files and
//! a `.ssmform` that is a file get clear answers.

use std::process::Command;

use crate::support::{Workspace, ssmform_bin};

const PROVIDER: &str = "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n";

/// Runs `ssmform ARGS` in the workspace with at most 400 MB of address space (the binary starts in
/// about 100 MB of it): a run that tried to hold gigabytes would fail to allocate instead of
/// refusing the input.
fn run_limited(ws: &Workspace, args: &str) -> std::process::Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -v 400000; exec '{}' {args}",
            ssmform_bin().display()
        ))
        .current_dir(ws.root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run bash")
}

#[track_caller]
fn assert_refused(out: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn items(n: usize) -> String {
    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

#[test]
fn a_3_gb_configuration_file_is_refused_by_its_size_unread() {
    let ws = Workspace::bare();
    ws.file("cfg/main.hcl", PROVIDER);
    let f = std::fs::File::create(ws.path("cfg/huge.hcl")).unwrap();
    f.set_len(3 << 30).unwrap(); // sparse: no disk spent
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "larger than 16777216 bytes");
}

#[test]
fn dev_zero_as_a_variable_file_is_refused_unread() {
    let ws = Workspace::bare();
    ws.file("cfg/main.hcl", PROVIDER);
    let out = run_limited(&ws, "validate cfg --var-file /dev/zero");
    assert_refused(&out, "not a regular file");
}

#[test]
fn a_template_looping_over_100000_items_stops_at_the_string_limit() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  xs = [{}]\n}}\nsecret \"a\" {{\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = \"%{{ for x in local.xs }}%{{ for y in local.xs }}${{y}}%{{ endfor }}%{{ endfor }}\"\n}}\n",
            items(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(
        &out,
        "longer than 1 MiB (1048576 bytes), the limit on one string",
    );
    assert_refused(&out, "cfg/main.hcl:10:19");
}

#[test]
fn nested_for_expressions_stop_at_the_expression_limit() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  xs = [{}]\n  ys = [for x in local.xs : [for y in local.xs : y]]\n}}\n",
            items(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "the limit on one expression");
}

#[test]
fn loops_that_build_nothing_stop_at_the_iteration_limit() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  xs = [{}]\n  ys = [for x in local.xs : [for y in local.xs : y if false]]\n}}\n",
            items(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "more than 1000000 `for` iterations");
}

#[test]
fn a_split_into_more_items_than_the_collection_limit_is_refused() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  xs = split(\",\", \"{}\")\n}}\n",
            ",".repeat(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "more than 100000 items, the limit on one list or map");
}

#[test]
fn an_environment_value_over_the_limit_is_refused_without_quoting_it() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!("{PROVIDER}variable \"x\" {{\n  type = list(string)\n}}\n"),
    );
    let value = format!("[\"{}\"]", "cnryBigValue".repeat(8_000));
    let out = ws.run_with(["validate", "cfg"], &[("SSMFORM_VAR_x", value.as_str())]);
    out.assert_exit(1)
        .assert_stderr_contains("more than 64 KiB (65536 bytes)")
        .assert_stderr_not_contains("cnryBigValue");
}

#[test]
fn errors_on_a_line_of_20000_literals_are_shown_as_a_window() {
    // Every bare word is an error; each diagnostic shows 120 characters of the 140 KB line. The
    // snippets used to hold (and mask) the whole line: quadratic time and memory.
    let ws = Workspace::bare();
    let words = vec!["nosuch"; 20_000].join(",");
    ws.file(
        "cfg/main.hcl",
        format!("{PROVIDER}locals {{\n  y = [{words}]\n}}\n"),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "20000 errors");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let longest = stderr.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 200, "a snippet line of {longest} characters");
}

#[test]
fn an_error_after_100000_blank_lines_is_reported() {
    // Masking looked for each token's neighbours by scanning: quadratic in a run of blank lines.
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  y = 1\n{}+ nosuch\n}}\n",
            "\n".repeat(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "cfg/main.hcl:100006:1");
}

#[test]
fn a_chain_of_100000_indexes_is_an_error_not_a_crash() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}locals {{\n  xs = [1]\n  y  = local.xs{}\n}}\n",
            "[0]".repeat(100_000)
        ),
    );
    let out = run_limited(&ws, "validate cfg");
    assert_refused(&out, "cannot read key `0` of a number");
}

#[test]
fn a_byte_order_mark_is_accepted_in_configuration_and_variable_files() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "\u{feff}{PROVIDER}variable \"x\" {{\n  type = string\n}}\nsecret \"a\" {{\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = var.x\n}}\n"
        ),
    );
    ws.file("vals.vars.hcl", "\u{feff}x = \"value\"\n");
    ws.run(["validate", "cfg", "--var-file", "vals.vars.hcl"])
        .assert_success();
}

#[test]
fn heredocs_in_crlf_files_have_lf_line_breaks() {
    let ws = Workspace::bare();
    let text = format!(
        "{PROVIDER}locals {{\n  h = <<EOT\nab\ncd\nEOT\n}}\nsecret \"a\" {{\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = local.h == \"ab\\ncd\\n\" ? \"lf\" : tonumber(\"crlf\")\n}}\n"
    )
    .replace('\n', "\r\n");
    ws.file("cfg/main.hcl", text);
    ws.run(["validate", "cfg"]).assert_success();
}

#[test]
fn fmt_writes_one_line_ending_per_file() {
    let ws = Workspace::bare();
    let text =
        format!("{PROVIDER}locals {{\n  h   = <<EOT\nab\nEOT\n  x = 1\n}}\n").replace('\n', "\r\n");
    ws.file("cfg/main.hcl", text);
    ws.run(["fmt", "cfg"]).assert_success();
    let after = std::fs::read_to_string(ws.path("cfg/main.hcl")).unwrap();
    assert!(!after.contains('\r'), "{after:?}");
    assert!(after.contains("  h = <<EOT\nab\nEOT\n"), "{after:?}");
}

#[test]
fn a_state_directory_that_is_a_file_is_named() {
    let ws = Workspace::bare();
    ws.file(
        "cfg/main.hcl",
        format!(
            "{PROVIDER}secret \"a\" {{\n  secret_name   = \"a\"\n  version_id    = \"v1\"\n  secret_string = \"x\"\n}}\n"
        ),
    );
    ws.file("cfg/.ssmform", "not a directory");
    ws.run(["plan", "cfg"])
        .assert_exit(1)
        .assert_stderr_contains(".ssmform is a file, not a directory");
}
