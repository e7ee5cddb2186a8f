//! Property tests: waves and cycles over random configurations, and no input — random bytes,
//! random HCL-like text, mutated real files — makes loading, evaluating or formatting panic.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use ssmform::config::{DataValues, Mode, fmt};
use ssmform::term::Paint;

use crate::support::config::{FIXTURES, Fixture, temp_config};

/// How secret `i` depends on an earlier secret `j`.
#[derive(Clone, Copy, Debug)]
enum Dep {
    /// `secret.sj.secret_string` in its content.
    Content,
    /// Its name refers to `secret.sj.version_id`.
    Name,
    /// Through a local value.
    Local,
    /// Through two local values.
    TwoLocals,
    /// `depends_on = [secret.sj]`.
    DependsOn,
}

fn dep() -> impl Strategy<Value = Dep> {
    prop_oneof![
        Just(Dep::Content),
        Just(Dep::Name),
        Just(Dep::Local),
        Just(Dep::TwoLocals),
        Just(Dep::DependsOn)
    ]
}

/// A random acyclic configuration: secret `i` depends only on secrets `j < i`.
#[derive(Clone, Debug)]
struct Dag {
    deps: Vec<Vec<(usize, Dep)>>,
    changed: Vec<bool>,
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..20).prop_flat_map(|n| {
        let deps = (0..n)
            .map(|i| {
                if i == 0 {
                    Just(Vec::new()).boxed()
                } else {
                    proptest::collection::vec((0..i, dep()), 0..4).boxed()
                }
            })
            .collect::<Vec<_>>();
        (deps, proptest::collection::vec(any::<bool>(), n))
            .prop_map(|(deps, changed)| Dag { deps, changed })
    })
}

/// The configuration text for `deps` (plus `extra` edges that may close cycles).
fn render(deps: &[Vec<(usize, Dep)>]) -> String {
    let mut s = String::from("provider \"tencentcloud\" {}\n\n");
    let mut locals = String::new();
    for (i, ds) in deps.iter().enumerate() {
        let mut name = format!("s{i}");
        let mut content = vec![format!("\"content {i}\"")];
        let mut depends_on = Vec::new();
        for (k, (j, d)) in ds.iter().enumerate() {
            match d {
                Dep::Content => content.push(format!("secret.s{j}.secret_string")),
                Dep::Name => name.push_str(&format!("-${{secret.s{j}.version_id}}")),
                Dep::Local => {
                    locals.push_str(&format!("  l{i}_{k} = secret.s{j}.version_id\n"));
                    content.push(format!("local.l{i}_{k}"));
                }
                Dep::TwoLocals => {
                    locals.push_str(&format!("  m{i}_{k} = upper(secret.s{j}.secret_name)\n"));
                    locals.push_str(&format!("  n{i}_{k} = \"${{local.m{i}_{k}}}!\"\n"));
                    content.push(format!("local.n{i}_{k}"));
                }
                Dep::DependsOn => depends_on.push(format!("secret.s{j}")),
            }
        }
        s.push_str(&format!(
            "secret \"s{i}\" {{\n  secret_name   = \"{name}\"\n  version_id    = \"v1\"\n  secret_string = join(\"/\", [{}])\n",
            content.join(", ")
        ));
        if !depends_on.is_empty() {
            s.push_str(&format!("  depends_on    = [{}]\n", depends_on.join(", ")));
        }
        s.push_str("}\n\n");
    }
    if !locals.is_empty() {
        s.push_str(&format!("locals {{\n{locals}}}\n"));
    }
    s
}

/// Transitive dependencies of each secret, computed from the spec (the oracle).
fn closure(deps: &[Vec<(usize, Dep)>]) -> Vec<BTreeSet<usize>> {
    let mut out: Vec<BTreeSet<usize>> = Vec::with_capacity(deps.len());
    for ds in deps {
        let mut all = BTreeSet::new();
        for (j, _) in ds {
            all.insert(*j);
            all.extend(out[*j].iter().copied());
        }
        out.push(all);
    }
    out
}

fn load(text: &str) -> Result<ssmform::config::Config, ssmform::config::Diagnostics> {
    let dir = temp_config(&[("main.hcl", text)]);
    let mut f = Fixture::new(dir.path());
    f.mode = Mode::Validate;
    f.load()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn acyclic_configurations_give_waves_that_rise_along_every_dependency(d in dag()) {
        let text = render(&d.deps);
        let cfg = load(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let ev = cfg.evaluate(&DataValues::default(), None);
        prop_assert!(ev.diagnostics.is_empty(), "{}", ev.diagnostics);
        let changed: BTreeSet<String> = d.changed.iter().enumerate()
            .filter(|(_, c)| **c).map(|(i, _)| format!("secret.s{i}")).collect();
        let waves = cfg.graph().waves(&changed);
        prop_assert_eq!(waves.len(), changed.len());
        let deps = closure(&d.deps);
        let wave = |i: usize| waves.get(&format!("secret.s{i}")).copied();
        let mut expected: BTreeMap<usize, u32> = BTreeMap::new();
        for (i, deps_i) in deps.iter().enumerate() {
            let Some(w) = wave(i) else { continue };
            for &j in deps_i {
                if let Some(wj) = wave(j) {
                    prop_assert!(wj < w, "s{} (wave {}) depends on s{} (wave {})\n{}", i, w, j, wj, text);
                }
            }
            // Exactly one more than the highest changed dependency.
            let e = 1 + deps_i.iter().filter_map(|j| expected.get(j)).max().copied().unwrap_or(0);
            expected.insert(i, e);
            prop_assert_eq!(w, e);
        }
    }

    #[test]
    fn cyclic_configurations_are_always_rejected(
        d in dag(),
        cycle in proptest::collection::vec(0usize..20, 1..5),
        kinds in proptest::collection::vec(dep(), 5),
    ) {
        // Close a cycle through the chosen secrets: c0 → c1 → ... → c0.
        let n = d.deps.len();
        let members: Vec<usize> = cycle.iter().map(|c| c % n).collect();
        let mut deps = d.deps.clone();
        for k in 0..members.len() {
            let from = members[k];
            let to = members[(k + 1) % members.len()];
            deps[from].push((to, kinds[k]));
        }
        let text = render(&deps);
        match load(&text) {
            Ok(_) => prop_assert!(false, "a cycle was accepted:\n{}", text),
            Err(diags) => {
                let shown = diags.render(Paint::plain());
                prop_assert!(
                    shown.contains("dependency cycle:") || shown.contains("refers to itself"),
                    "{}\n{}", shown, text
                );
                prop_assert!(diags.iter().all(|d| d.location.is_some()));
            }
        }
    }

    #[test]
    fn random_bytes_never_make_the_loader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), &bytes).unwrap();
        let f = Fixture::new(dir.path());
        let _ = f.diagnostics();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = fmt::format_source(std::path::Path::new("main.hcl"), text);
        }
    }

    #[test]
    fn random_hcl_like_text_never_panics_and_formats_idempotently(
        tokens in proptest::collection::vec(hcl_token(), 0..60),
        with_provider in any::<bool>(),
    ) {
        let mut text: String = tokens.concat();
        if with_provider {
            text = format!("provider \"tencentcloud\" {{}}\n{text}");
        }
        let dir = temp_config(&[("main.hcl", &text)]);
        let mut f = Fixture::new(dir.path());
        let _ = f.diagnostics();
        f.mode = Mode::Plan;
        let _ = f.diagnostics();
        if let Ok(once) = fmt::format_source(std::path::Path::new("main.hcl"), &text) {
            let twice = fmt::format_source(std::path::Path::new("main.hcl"), &once)
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(&once, &twice);
        }
    }

    #[test]
    fn mutated_real_files_never_panic(
        which in 0usize..1000,
        at in 0usize..100_000,
        len in 0usize..40,
        insert in hcl_token(),
    ) {
        let files = fixture_files();
        let original = &files[which % files.len()];
        let mut text = original.clone();
        let start = floor_char_boundary(&text, at % (text.len() + 1));
        let end = floor_char_boundary(&text, (start + len).min(text.len()));
        text.replace_range(start..end, &insert);
        let dir = temp_config(&[("main.hcl", &text), ("files/settings.json", "{}"), ("files/tls.key.der", "x")]);
        let _ = Fixture::new(dir.path()).diagnostics();
        if let Ok(once) = fmt::format_source(std::path::Path::new("main.hcl"), &text) {
            let twice = fmt::format_source(std::path::Path::new("main.hcl"), &once)
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(&once, &twice);
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every `.hcl` file of the fixtures.
fn fixture_files() -> Vec<String> {
    let mut out = Vec::new();
    for kind in ["valid", "invalid"] {
        for case in std::fs::read_dir(format!("{FIXTURES}/{kind}")).unwrap() {
            let case = case.unwrap().path();
            if !case.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&case).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "hcl")
                    && let Ok(t) = std::fs::read_to_string(&f)
                {
                    out.push(t);
                }
            }
        }
    }
    out.sort();
    out
}

/// Pieces of HCL, so that random sequences are often almost valid.
fn hcl_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("secret \"a\" {\n".to_string()),
        Just("variable \"v\" {\n".to_string()),
        Just("locals {\n".to_string()),
        Just("data \"ssm_secret\" \"d\" {\n".to_string()),
        Just("}\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" = ".to_string()),
        Just("\n".to_string()),
        Just(", ".to_string()),
        Just("secret_name = \"n\"\n".to_string()),
        Just("version_id = \"v1\"\n".to_string()),
        Just("secret_string = ".to_string()),
        Just("secret_binary = ".to_string()),
        Just("sensitive = false\n".to_string()),
        Just("depends_on = [".to_string()),
        Just("type = ".to_string()),
        Just("default = ".to_string()),
        Just("\"text\"".to_string()),
        Just("\"${".to_string()),
        Just("\"%{ if true }".to_string()),
        Just("%{ endif }".to_string()),
        Just("%{ for x in [1] ~}".to_string()),
        Just("%{ endfor }\"".to_string()),
        Just("${x}".to_string()),
        Just("}\"".to_string()),
        Just("\"".to_string()),
        Just("<<EOT\nline ${var.v}\nEOT\n".to_string()),
        Just("<<-EOT\n  a\n  %{ if true }\n    b\n  %{ endif }\n  EOT\n".to_string()),
        Just("var.v".to_string()),
        Just("local.l".to_string()),
        Just("secret.a.secret_string".to_string()),
        Just("data.ssm_secret.d.secret_string".to_string()),
        Just("upper(".to_string()),
        Just("jsonencode(".to_string()),
        Just("format(\"%s-%d\", ".to_string()),
        Just("file(\"x\")".to_string()),
        Just("[for k, v in {a = 1} : v if v > 0]".to_string()),
        Just("{ for x in [\"a\"] : x => x... }".to_string()),
        Just(" ? ".to_string()),
        Just(" : ".to_string()),
        Just(" + ".to_string()),
        Just(" == ".to_string()),
        Just("!".to_string()),
        Just("-".to_string()),
        Just("1".to_string()),
        Just("3.5e2".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("# comment\n".to_string()),
        Just("// comment\n".to_string()),
        Just("/* c */".to_string()),
        Just("...".to_string()),
        Just("[*].".to_string()),
        Just(".0".to_string()),
        Just("é".to_string()),
        Just("\t".to_string()),
        Just("\r\n".to_string()),
        "[a-z_]{1,6}".prop_map(|s| s),
    ]
}
