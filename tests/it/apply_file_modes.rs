//! Files ssmform writes are readable by their owner only from the first byte, whatever the umask:
//! plan files, journals, the local store with its `-wal`/`-shm` companions, the local plan key,
//! `.ssmform/` itself, and `fmt`'s temporary files (a new file with a random name: never an
//! existing file or a link planted at its name).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ssmform::emulator::Credential;

use crate::support::{Api, Seed, SpawnedEmulator, Workspace, temp_dir};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file and directory under `dir`, links not followed.
fn entries(dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let is_dir = e.file_type().unwrap().is_dir();
        out.push((e.path(), is_dir));
        if is_dir {
            out.extend(entries(&e.path()));
        }
    }
    out
}

#[test]
fn everything_a_local_plan_and_apply_write_is_private_under_umask_000() {
    let ws = Workspace::bare()
        .without_plan_key()
        .config(
            "provider \"tencentcloud\" {\n  endpoint = \"local\"\n}\n\n\
             secret \"app\" {\n  secret_name   = \"app\"\n  version_id    = \"v1\"\n  secret_string = \"x\"\n}\n",
        );
    ws.run_with_umask(0o000, ["plan", "cfg", "--out", "plan.ssmplan"])
        .assert_success();
    ws.run_with_umask(0o000, ["apply", "plan.ssmplan"])
        .assert_success();
    ws.run_with_umask(0o000, ["plan", "cfg", "--out", "again.ssmplan"])
        .assert_success();
    let written: Vec<(PathBuf, bool)> = entries(ws.root())
        .into_iter()
        .filter(|(p, _)| {
            !ws.is_input(p) && p.starts_with(ws.path("cfg/.ssmform"))
                || p.extension().is_some_and(|e| e == "ssmplan")
        })
        .collect();
    let names: Vec<String> = written
        .iter()
        .map(|(p, _)| p.strip_prefix(ws.root()).unwrap().display().to_string())
        .collect();
    for expected in [
        "plan.ssmplan",
        "again.ssmplan",
        "cfg/.ssmform/plan.key",
        "cfg/.ssmform/local.db",
        "cfg/.ssmform/.gitignore",
        "cfg/.ssmform/journal",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("cfg/.ssmform/journal/") && n.ends_with(".jsonl")),
        "a journal in {names:?}"
    );
    for (p, is_dir) in &written {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{} is {:04o}", p.display(), mode(p));
    }
    assert_eq!(mode(&ws.path("cfg/.ssmform")), 0o700);
}

/// The store's `-wal` and `-shm` files exist while the emulator runs: they are private too.
#[tokio::test]
async fn the_emulator_store_and_its_companions_are_private_under_umask_000() {
    let dir = temp_dir();
    let db = dir.path().join("state/emulator.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let emu = SpawnedEmulator::start_with_umask(&["--db", db.to_str().unwrap()], 0o000);
    Seed::new()
        .secret("a", "v1", "x")
        .write_api(&Api::for_addr(emu.addr, &Credential::development()))
        .await;
    let files: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .collect();
    for f in &files {
        assert!(f.exists(), "{} exists while the emulator runs", f.display());
        assert_eq!(mode(f), 0o600, "{} is {:04o}", f.display(), mode(f));
    }
    let (code, _) = emu.terminate();
    assert_eq!(code, Some(0));
}

/// `fmt` writes each file through a new private temporary file: a link planted at the name the
/// temporary file used to have (`.main.hcl.ssmform-fmt.tmp`, which git can commit) is not
/// followed, and each file keeps its own mode.
#[test]
fn fmt_never_writes_through_a_planted_link_and_keeps_modes() {
    let ws = Workspace::bare();
    ws.file("victim.txt", "keep me\n");
    ws.file(
        "cfg/main.hcl",
        "provider \"tencentcloud\" {\nregion = \"ap-guangzhou\"\n}\n",
    );
    ws.file("cfg/secret.vars.hcl", "pw    =   \"x\"\n");
    std::fs::set_permissions(
        ws.path("cfg/main.hcl"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        ws.path("cfg/secret.vars.hcl"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    for name in ["main.hcl", "secret.vars.hcl"] {
        std::os::unix::fs::symlink(
            "../victim.txt",
            ws.path(&format!("cfg/.{name}.ssmform-fmt.tmp")),
        )
        .unwrap();
    }
    ws.run_with_umask(0o000, ["fmt", "cfg"]).assert_success();
    assert_eq!(
        std::fs::read_to_string(ws.path("victim.txt")).unwrap(),
        "keep me\n",
        "the planted link was written through"
    );
    assert!(
        std::fs::read_to_string(ws.path("cfg/main.hcl"))
            .unwrap()
            .contains("  region = \"ap-guangzhou\"")
    );
    assert_eq!(mode(&ws.path("cfg/main.hcl")), 0o644);
    assert_eq!(mode(&ws.path("cfg/secret.vars.hcl")), 0o600);
    assert!(
        std::fs::symlink_metadata(ws.path("cfg/main.hcl"))
            .unwrap()
            .file_type()
            .is_file()
    );
    // Nothing else was left behind.
    let left: Vec<String> = std::fs::read_dir(ws.path("cfg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(left.len(), 2, "only the planted links: {left:?}");
}
