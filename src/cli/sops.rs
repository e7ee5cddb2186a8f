//! `ssmform sops encrypt FILE`: write a SOPS file (age recipients) that the real `sops` reads.
//!
//! The plaintext is read into memory, encrypted there (see [`crate::sops`]) and never written
//! anywhere in clear; the SOPS file goes to stdout, or with `--output` to a new file created
//! with mode 0600 from its first byte (an existing file is never overwritten). Recipients come
//! from `--age`, else from the creation rule of the nearest `.sops.yaml` above FILE, whose
//! encryption rules (`encrypted_regex`, `unencrypted_suffix`...) apply either way. There is
//! deliberately no `decrypt` command: ssmform never prints plaintext.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CmdResult, Exit};
use crate::sops::{self, EncryptOptions, Format, Recipient, SopsError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SopsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SopsCommand {
    /// Encrypt a plaintext file into a SOPS file for age recipients (stdout unless --output)
    Encrypt(EncryptArgs),
}

#[derive(Debug, clap::Args)]
pub struct EncryptArgs {
    /// The plaintext file to encrypt (its name also selects the .sops.yaml creation rule)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age recipient: `age1…` or an SSH public key (`ssh-ed25519 …`, `ssh-rsa …`);
    /// repeatable or comma-separated. Without it, the nearest .sops.yaml's creation rule names
    /// the recipients
    #[arg(long = "age", value_name = "RECIPIENT")]
    pub age: Vec<String>,
    /// The input format: yaml, json, dotenv, ini or binary (default: from FILE's extension, as
    /// sops chooses: .yaml/.yml, .json, .env, .ini, else binary)
    #[arg(long, value_name = "TYPE", value_parser = ["yaml", "json", "dotenv", "ini", "binary"])]
    pub input_type: Option<String>,
    /// Write the SOPS file to this new file (mode 0600; refuses to overwrite an existing file)
    /// instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        SopsCommand::Encrypt(a) => encrypt(a),
    }
}

fn read_plaintext(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, SopsError> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|source| SopsError::Read {
            file: path.display().to_string(),
            source,
        })
}

fn encrypt(args: EncryptArgs) -> CmdResult {
    let name = args.file.display().to_string();
    let format = match &args.input_type {
        Some(t) => Format::from_name(t).expect("clap checked the value"),
        None => Format::from_path(&args.file),
    };
    let rule = sops::config::creation_rule_for(&args.file);
    let (recipients, mut options) = if args.age.is_empty() {
        match rule? {
            Some(rule) => (rule.recipients, rule.options),
            None => (Vec::new(), EncryptOptions::default()),
        }
    } else {
        let mut recipients = Vec::new();
        for a in &args.age {
            recipients.extend(Recipient::parse_list(a)?);
        }
        // The rule's encryption selectors still apply, as in sops; a config without a rule for
        // this file is no error when the recipients are given.
        let options = match rule {
            Ok(Some(rule)) => rule.options,
            _ => EncryptOptions::default(),
        };
        (recipients, options)
    };
    if recipients.is_empty() {
        return Err(SopsError::NoRecipients { file: name }.into());
    }
    options.source_name = Some(name);
    let plaintext = read_plaintext(&args.file)?;
    let encrypted = sops::encrypt(&plaintext, format, &recipients, &options)?;
    drop(plaintext);
    match &args.output {
        Some(path) => write_new_file(path, &encrypted)?,
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&encrypted)?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}

/// Create `path` (it must not exist) with mode 0600 and write `bytes`.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), SopsError> {
    let fail = |message: String| SopsError::Encrypt {
        file: path.display().to_string(),
        message,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            fail(
                "already exists; refusing to overwrite it (remove it or choose another --output)"
                    .into(),
            )
        } else {
            fail(format!("cannot create: {e}"))
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(format!("cannot write: {e}")))
}
