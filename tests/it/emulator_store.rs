//! Storage: state survives a restart with `--db`, and two emulator processes sharing one file
//! neither corrupt it nor both win a race for the same name.

use serde_json::json;
use ssmform::emulator::{Credential, EmulatorConfig, RateLimits};

use crate::emulator_api::store_state;
use crate::support::{Api, SpawnedEmulator, TestEmulator, temp_dir};

fn on_disk(path: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        db: Some(path.to_path_buf()),
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn state_survives_a_restart_with_a_database_file() {
    let dir = temp_dir();
    let db = dir.path().join("ssm.db");
    let before = {
        let emu = TestEmulator::with(on_disk(&db));
        let api = emu.api();
        api.create("kept", "v1", "value-1").await;
        api.ok(
            "PutSecretValue",
            json!({"SecretName": "kept", "VersionId": "v2", "SecretBinary": "AAEC"}),
        )
        .await;
        api.create("disabled", "v1", "x").await;
        api.ok("DisableSecret", json!({"SecretName": "disabled"}))
            .await;
        let state = store_state(&api).await;
        emu.stop();
        state
    };
    let emu = TestEmulator::with(on_disk(&db));
    let api = emu.api();
    assert_eq!(store_state(&api).await, before);
    let r = api
        .ok(
            "GetSecretValue",
            json!({"SecretName": "kept", "VersionId": "v2"}),
        )
        .await;
    assert_eq!(r["SecretBinary"], "AAEC");
    // And without --db nothing is kept.
    let mem = TestEmulator::unlimited();
    assert_eq!(store_state(&mem.api()).await, json!([]));
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_at_start() {
    let dir = temp_dir();
    let db = dir.path().join("notes.txt");
    std::fs::write(
        &db,
        "just some text that is long enough to not be a database header",
    )
    .unwrap();
    let err = match TestEmulator::try_with(on_disk(&db)) {
        Ok(_) => panic!("started on a text file"),
        Err(e) => e,
    };
    assert!(err.contains("notes.txt"), "{err}");
}

#[tokio::test]
async fn two_processes_share_one_file_without_losing_or_duplicating_anything() {
    let dir = temp_dir();
    let db = dir.path().join("shared.db");
    let db_arg = db.to_str().unwrap();
    let a = SpawnedEmulator::start(&["--db", db_arg, "--no-rate-limits"]);
    let b = SpawnedEmulator::start(&["--db", db_arg, "--no-rate-limits"]);
    let dev = Credential::development();
    let api_a = Api::for_addr(a.addr, &dev);
    let api_b = Api::for_addr(b.addr, &dev);

    // Both processes race to create the same 40 names, and each adds versions to them.
    let mut set = tokio::task::JoinSet::new();
    for (who, api) in [("a", api_a.clone()), ("b", api_b.clone())] {
        set.spawn(async move {
            let mut won = 0;
            for i in 0..40 {
                let r = api
                    .call(
                        "CreateSecret",
                        json!({"SecretName": format!("race-{i}"), "SecretString": who}),
                    )
                    .await;
                match r.code() {
                    None => won += 1,
                    Some("ResourceInUse.SecretExists") => {}
                    Some(other) => panic!("{who}: unexpected {other}: {}", r.json),
                }
                api.ok(
                    "PutSecretValue",
                    json!({"SecretName": format!("race-{i}"), "VersionId": format!("from-{who}"), "SecretString": who}),
                )
                .await;
            }
            won
        });
    }
    let mut total_won = 0;
    while let Some(r) = set.join_next().await {
        total_won += r.unwrap();
    }
    assert_eq!(total_won, 40, "every name created exactly once");

    let seen_by_a = store_state(&api_a).await;
    assert_eq!(seen_by_a, store_state(&api_b).await);
    assert_eq!(seen_by_a.as_array().unwrap().len(), 40);
    for s in seen_by_a.as_array().unwrap() {
        assert_eq!(s["versions"].as_array().unwrap().len(), 3, "{s}");
    }
    drop(a);
    drop(b);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
