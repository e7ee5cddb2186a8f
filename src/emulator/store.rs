//! The emulator's state in SQLite: secrets (per region) and their versions.
//!
//! With `--db PATH` the database is a file in WAL mode, so state survives restarts and several
//! processes may share one file: every write runs in a `BEGIN IMMEDIATE` transaction (the check and
//! the change happen under one write lock, so two processes cannot both create the thousandth
//! secret), and a 5-second busy timeout makes a second writer wait instead of failing. Without
//! `--db` the database lives in memory and dies with the emulator.
//!
//! This module holds the SQL and nothing else: the API's rules (what may change when) live in
//! [`super::handlers`], which calls these methods inside [`Store::read`] / [`Store::write`].
//!
//! `synchronous = NORMAL` in WAL mode: a power cut may lose the last transactions but never
//! corrupts the file. That is the right trade for a development emulator.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::ApiError;

const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS secrets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    region            TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    kms_key_id        TEXT NOT NULL,
    secret_type       INTEGER NOT NULL,
    additional_config TEXT NOT NULL,
    status            TEXT NOT NULL,
    create_time       INTEGER NOT NULL,
    delete_time       INTEGER NOT NULL,
    tags              TEXT NOT NULL,
    UNIQUE (region, name)
);
CREATE TABLE IF NOT EXISTS versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    secret      INTEGER NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
    version_id  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('string', 'binary')),
    content     TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    UNIQUE (secret, version_id)
);
";

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the emulator database {path}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the emulator database {path} was written by a newer ssmform (schema {found}, this build knows {SCHEMA_VERSION})"
    )]
    NewerSchema { path: String, found: i64 },
    #[error("cannot create the emulator database {path}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A secret's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Enabled,
    Disabled,
    PendingDelete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "Enabled",
            Status::Disabled => "Disabled",
            Status::PendingDelete => "PendingDelete",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "Disabled" => Status::Disabled,
            "PendingDelete" => Status::PendingDelete,
            _ => Status::Enabled,
        }
    }
}

/// A version's content as the API carries it.
#[derive(Clone, PartialEq, Eq)]
pub enum Content {
    String(String),
    /// Canonical base64 of the bytes.
    Binary(String),
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Content::String(s) => write!(f, "String(<{} bytes>)", s.len()),
            Content::Binary(s) => write!(f, "Binary(<{} base64 chars>)", s.len()),
        }
    }
}

impl Content {
    fn kind(&self) -> &'static str {
        match self {
            Content::String(_) => "string",
            Content::Binary(_) => "binary",
        }
    }

    fn text(&self) -> &str {
        match self {
            Content::String(s) | Content::Binary(s) => s,
        }
    }

    fn from_row(kind: &str, text: String) -> Content {
        if kind == "binary" {
            Content::Binary(text)
        } else {
            Content::String(text)
        }
    }
}

/// A secret's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub description: String,
    pub kms_key_id: String,
    pub secret_type: i64,
    pub additional_config: String,
    pub status: Status,
    pub create_time: i64,
    /// 0 unless PendingDelete: when the secret will be gone.
    pub delete_time: i64,
    pub tags: Vec<(String, String)>,
}

/// One row of ListSecretVersionIds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version_id: String,
    pub create_time: i64,
}

/// What GetSecretValue finds.
#[derive(Debug)]
pub enum ValueLookup {
    NoSecret,
    Found {
        status: Status,
        content: Option<Content>,
    },
}

pub struct Store {
    conn: Mutex<Connection>,
}

/// The store holds secret values in clear: create it readable by its owner only. SQLite gives its
/// `-wal` and `-shm` files the database file's permissions, so they follow.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

impl Store {
    /// Open (creating if needed) the database at `path`, or an in-memory one.
    pub fn open(path: Option<&Path>) -> Result<Store, StoreError> {
        let shown = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
        let open_err = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        if let Some(p) = path {
            create_private(p).map_err(|source| StoreError::Create {
                path: shown.clone(),
                source,
            })?;
        }
        let mut conn = match path {
            Some(p) => Connection::open(p),
            None => Connection::open_in_memory(),
        }
        .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        if path.is_some() {
            // Returns the mode as a row; a non-database file fails here.
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(open_err)?;
            conn.execute_batch("PRAGMA synchronous = NORMAL")
                .map_err(open_err)?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(open_err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_err)?;
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: shown, found });
        }
        tx.execute_batch(SCHEMA).map_err(open_err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(open_err)?;
        tx.commit().map_err(open_err)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (the transaction rolls
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` in a read transaction.
    pub fn read<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db_err)?;
        let out = f(&Db(&tx))?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }

    /// Run `f` in a write transaction (`BEGIN IMMEDIATE`). Committed only if `f` succeeds, so a
    /// rejected request changes nothing.
    pub fn write<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let out = f(&Db(&tx))?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }
}

fn db_err(e: rusqlite::Error) -> ApiError {
    ApiError::internal(format_args!("the emulator database failed: {e}"))
}

/// The statements, on a connection inside a transaction.
pub struct Db<'a>(&'a Connection);

const SECRET_COLUMNS: &str = "name, description, kms_key_id, secret_type, additional_config, \
                              status, create_time, delete_time, tags";

fn secret_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Secret> {
    let tags: String = r.get(8)?;
    Ok(Secret {
        name: r.get(0)?,
        description: r.get(1)?,
        kms_key_id: r.get(2)?,
        secret_type: r.get(3)?,
        additional_config: r.get(4)?,
        status: Status::parse(&r.get::<_, String>(5)?),
        create_time: r.get(6)?,
        delete_time: r.get(7)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
    })
}

/// SQL condition: the secret still exists. A PendingDelete secret whose DeleteTime has passed is
/// gone even before [`Db::purge_expired`] removes its row. `t` is the table alias (with its dot),
/// `now` the parameter holding the current time.
fn live(t: &str, now: &str) -> String {
    format!("NOT ({t}status = 'PendingDelete' AND {t}delete_time <= {now})")
}

impl Db<'_> {
    /// The secret, unless it does not exist (or its scheduled deletion has passed).
    pub fn secret(&self, region: &str, name: &str, now: i64) -> Result<Option<Secret>, ApiError> {
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE region = ?1 AND name = ?2 AND {}",
            live("", "?3")
        );
        self.0
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(params![region, name, now], secret_from_row)
                    .optional()
            })
            .map_err(db_err)
    }

    /// Every live secret of the region, oldest first.
    pub fn secrets(&self, region: &str, now: i64) -> Result<Vec<Secret>, ApiError> {
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE region = ?1 AND {} ORDER BY create_time, id",
            live("", "?2")
        );
        let mut stmt = self.0.prepare_cached(&sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params![region, now], secret_from_row)
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn secret_count(&self, region: &str, now: i64) -> Result<u64, ApiError> {
        let sql = format!(
            "SELECT COUNT(*) FROM secrets WHERE region = ?1 AND {}",
            live("", "?2")
        );
        self.0
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![region, now], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// Remove secrets whose scheduled deletion has passed (before reusing their names).
    pub fn purge_expired(&self, region: &str, now: i64) -> Result<(), ApiError> {
        self.0
            .execute(
                "DELETE FROM secrets WHERE region = ?1 AND status = 'PendingDelete' AND delete_time <= ?2",
                params![region, now],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// Insert a secret with its first version.
    pub fn insert_secret(
        &self,
        region: &str,
        secret: &Secret,
        version_id: &str,
        content: &Content,
    ) -> Result<(), ApiError> {
        let tags = serde_json::to_string(&secret.tags).unwrap_or_else(|_| "[]".into());
        self.0
            .execute(
                "INSERT INTO secrets (region, name, description, kms_key_id, secret_type, \
                 additional_config, status, create_time, delete_time, tags) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    region,
                    secret.name,
                    secret.description,
                    secret.kms_key_id,
                    secret.secret_type,
                    secret.additional_config,
                    secret.status.as_str(),
                    secret.create_time,
                    secret.delete_time,
                    tags
                ],
            )
            .map_err(db_err)?;
        self.insert_version(
            region,
            &secret.name,
            version_id,
            content,
            secret.create_time,
        )
    }

    pub fn insert_version(
        &self,
        region: &str,
        name: &str,
        version_id: &str,
        content: &Content,
        now: i64,
    ) -> Result<(), ApiError> {
        self.0
            .execute(
                "INSERT INTO versions (secret, version_id, kind, content, create_time) \
                 SELECT id, ?3, ?4, ?5, ?6 FROM secrets WHERE region = ?1 AND name = ?2",
                params![
                    region,
                    name,
                    version_id,
                    content.kind(),
                    content.text(),
                    now
                ],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// Overwrite a version's content; false when the version does not exist.
    pub fn update_version(
        &self,
        region: &str,
        name: &str,
        version_id: &str,
        content: &Content,
    ) -> Result<bool, ApiError> {
        self.0
            .execute(
                "UPDATE versions SET kind = ?4, content = ?5 WHERE version_id = ?3 AND secret = \
                 (SELECT id FROM secrets WHERE region = ?1 AND name = ?2)",
                params![region, name, version_id, content.kind(), content.text()],
            )
            .map(|n| n > 0)
            .map_err(db_err)
    }

    /// Delete a version; false when it does not exist.
    pub fn delete_version(
        &self,
        region: &str,
        name: &str,
        version_id: &str,
    ) -> Result<bool, ApiError> {
        self.0
            .execute(
                "DELETE FROM versions WHERE version_id = ?3 AND secret = \
                 (SELECT id FROM secrets WHERE region = ?1 AND name = ?2)",
                params![region, name, version_id],
            )
            .map(|n| n > 0)
            .map_err(db_err)
    }

    pub fn versions(&self, region: &str, name: &str) -> Result<Vec<VersionInfo>, ApiError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT v.version_id, v.create_time FROM versions v JOIN secrets s ON v.secret = s.id \
                 WHERE s.region = ?1 AND s.name = ?2 ORDER BY v.id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![region, name], |r| {
                Ok(VersionInfo {
                    version_id: r.get(0)?,
                    create_time: r.get(1)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn version_exists(
        &self,
        region: &str,
        name: &str,
        version_id: &str,
    ) -> Result<bool, ApiError> {
        self.0
            .prepare_cached(
                "SELECT 1 FROM versions v JOIN secrets s ON v.secret = s.id \
                 WHERE s.region = ?1 AND s.name = ?2 AND v.version_id = ?3",
            )
            .and_then(|mut s| s.exists(params![region, name, version_id]))
            .map_err(db_err)
    }

    /// GetSecretValue in one statement: the secret's status and, if the version exists, its content.
    pub fn value(
        &self,
        region: &str,
        name: &str,
        version_id: &str,
        now: i64,
    ) -> Result<ValueLookup, ApiError> {
        let sql = format!(
            "SELECT s.status, v.kind, v.content FROM secrets s \
             LEFT JOIN versions v ON v.secret = s.id AND v.version_id = ?3 \
             WHERE s.region = ?1 AND s.name = ?2 AND {}",
            live("s.", "?4")
        );
        let row = self
            .0
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(params![region, name, version_id, now], |r| {
                    let status: String = r.get(0)?;
                    let kind: Option<String> = r.get(1)?;
                    let content: Option<String> = r.get(2)?;
                    Ok((status, kind, content))
                })
                .optional()
            })
            .map_err(db_err)?;
        Ok(match row {
            None => ValueLookup::NoSecret,
            Some((status, kind, content)) => ValueLookup::Found {
                status: Status::parse(&status),
                content: kind.zip(content).map(|(k, c)| Content::from_row(&k, c)),
            },
        })
    }

    pub fn set_status(
        &self,
        region: &str,
        name: &str,
        status: Status,
        delete_time: i64,
    ) -> Result<(), ApiError> {
        self.0
            .execute(
                "UPDATE secrets SET status = ?3, delete_time = ?4 WHERE region = ?1 AND name = ?2",
                params![region, name, status.as_str(), delete_time],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    pub fn set_description(
        &self,
        region: &str,
        name: &str,
        description: &str,
    ) -> Result<(), ApiError> {
        self.0
            .execute(
                "UPDATE secrets SET description = ?3 WHERE region = ?1 AND name = ?2",
                params![region, name, description],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    /// Delete a secret and (by cascade) its versions.
    pub fn delete_secret(&self, region: &str, name: &str) -> Result<(), ApiError> {
        self.0
            .execute(
                "DELETE FROM secrets WHERE region = ?1 AND name = ?2",
                params![region, name],
            )
            .map(|_| ())
            .map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str) -> Secret {
        Secret {
            name: name.into(),
            description: String::new(),
            kms_key_id: String::new(),
            secret_type: 0,
            additional_config: String::new(),
            status: Status::Enabled,
            create_time: 100,
            delete_time: 0,
            tags: vec![("k".into(), "v".into())],
        }
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let store = Store::open(None).unwrap();
        let r: Result<(), ApiError> = store.write(|db| {
            db.insert_secret("r", &secret("a"), "v1", &Content::String("x".into()))?;
            Err(ApiError::internal("boom"))
        });
        assert!(r.is_err());
        assert_eq!(store.read(|db| db.secret_count("r", 0)).unwrap(), 0);
    }

    #[test]
    fn expired_pending_deletes_are_gone() {
        let store = Store::open(None).unwrap();
        store
            .write(|db| {
                db.insert_secret("r", &secret("a"), "v1", &Content::String("x".into()))?;
                db.set_status("r", "a", Status::PendingDelete, 200)
            })
            .unwrap();
        let found = store.read(|db| db.secret("r", "a", 199)).unwrap().unwrap();
        assert_eq!(found.tags, vec![("k".to_string(), "v".to_string())]);
        assert!(store.read(|db| db.secret("r", "a", 200)).unwrap().is_none());
        assert!(matches!(
            store.read(|db| db.value("r", "a", "v1", 200)).unwrap(),
            ValueLookup::NoSecret
        ));
        store.write(|db| db.purge_expired("r", 200)).unwrap();
        assert_eq!(store.read(|db| db.versions("r", "a")).unwrap(), vec![]);
    }

    #[test]
    fn regions_are_separate() {
        let store = Store::open(None).unwrap();
        store
            .write(|db| db.insert_secret("r1", &secret("a"), "v1", &Content::String("x".into())))
            .unwrap();
        assert!(store.read(|db| db.secret("r2", "a", 0)).unwrap().is_none());
        assert!(store.read(|db| db.secret("r1", "a", 0)).unwrap().is_some());
    }

    #[test]
    fn content_debug_does_not_show_the_value() {
        let c = Content::String("hunter2".into());
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        std::fs::write(&p, b"this is not sqlite, not at all, definitely not").unwrap();
        assert!(matches!(
            Store::open(Some(&p)),
            Err(StoreError::Open { .. })
        ));
    }
}
