//! The source tree's shape, checked: the top-level modules of `src/` depend on each other in one
//! direction only (the layers drawn in docs/architecture.md), nothing below the command line
//! knows about it, and no comment cites a document that is not in the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer: a module may use only modules of lower layers (and the
/// explicit exceptions in [`SAME_LAYER`]). Keep in step with docs/architecture.md.
const LAYERS: &[(&str, u32)] = &[
    ("secret", 0),
    ("clock", 0),
    ("statedir", 0),
    ("privfile", 0),
    ("term", 0),
    ("fasthash", 0),
    ("suggest", 0),
    ("ssm", 1),
    ("sops", 1),
    ("emulator", 2),
    ("graph", 2),
    ("config", 3),
    ("plan", 4),
    ("apply", 5),
    ("render", 6),
    ("workflow", 7),
    ("cli", 8),
];

/// Edges allowed within a layer: `statedir` creates `.ssmform/` and its files through `privfile`
/// (owner-only from the first byte); `privfile` uses nothing.
const SAME_LAYER: &[(&str, &str)] = &[("statedir", "privfile")];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/plan/diff.rs` → `plan`, `src/clock.rs` → `clock`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// `crate::<module>` references in a file's text (`use crate::{a, b}` groups are not used in
/// this crate; the test below rejects them so that this scan stays complete).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// module → the modules it uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let module = module_of(&f);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read source");
        assert!(
            !text.contains("crate::{"),
            "{}: use one `use crate::module::...` per module, so the layer check sees it",
            f.display()
        );
        let uses = graph.entry(module.clone()).or_default();
        for r in crate_refs(&text) {
            if r != module {
                uses.insert(r);
            }
        }
    }
    graph
}

#[test]
fn every_top_level_module_has_a_layer() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    for module in module_graph().keys() {
        assert!(
            layers.contains_key(module.as_str()),
            "src/{module} has no layer: add it to LAYERS here and to docs/architecture.md"
        );
    }
}

#[test]
fn modules_use_only_lower_layers_so_there_is_no_cycle() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, uses) in module_graph() {
        for to in uses {
            let (Some(&lf), Some(&lt)) = (layers.get(from.as_str()), layers.get(to.as_str()))
            else {
                continue;
            };
            if lt >= lf && !SAME_LAYER.contains(&(from.as_str(), to.as_str())) {
                wrong.push(format!("{from} (layer {lf}) uses {to} (layer {lt})"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

#[test]
fn nothing_but_the_command_line_uses_it() {
    let users: Vec<String> = module_graph()
        .into_iter()
        .filter(|(m, uses)| m != "cli" && uses.contains("cli"))
        .map(|(m, _)| m)
        .collect();
    assert!(users.is_empty(), "modules using crate::cli: {users:?}");
}

#[test]
fn the_layer_check_sees_references() {
    let refs = crate_refs("use crate::plan::Plan;\nfn f() { crate::clock::unix_now(); }");
    assert_eq!(
        refs,
        ["clock", "plan"].into_iter().map(String::from).collect()
    );
}

#[test]
fn no_comment_cites_a_document_outside_the_repository() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        &mut files,
    );
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("benches"),
        &mut files,
    );
    let me = Path::new(file!()).file_name().expect("file name");
    let mut found = Vec::new();
    for f in files {
        if f.file_name() == Some(me) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read source");
        for (i, line) in text.lines().enumerate() {
            // the patterns are assembled so that this check does not find itself
            let (design, section, dir) = (
                concat!("DES", "IGN"),
                concat!("reference ", "\u{a7}"),
                concat!("reference", "/"),
            );
            if line.contains(design) || line.contains(section) || line.contains(dir) {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "cite docs/ instead of outside documents:\n{}",
        found.join("\n")
    );
}
