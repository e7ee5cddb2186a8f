//! `ssmform import [DIR]`: write configuration and a SOPS values file for the secrets that already
//! exist in the region (see [`crate::workflow::import`]). Prints names and counts, never a value.

use std::path::PathBuf;

use super::{CmdResult, Exit};
use crate::config::Mode;
use crate::ssm::control::{DEFAULT_PARALLELISM, MAX_PARALLELISM};
use crate::workflow::import::{ImportOptions, ImportProgress};
use crate::workflow::{self, Connection};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration directory (its provider block says where the secrets are; the files are
    /// written there)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Import only secrets whose name matches GLOB (`*` and `?`; repeatable: any of them)
    #[arg(long = "match", value_name = "GLOB")]
    pub matches: Vec<String>,
    /// Import only secrets tagged KEY=VALUE (repeatable: every key given must match, with any of
    /// the values given for it)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Encrypt the values file for this age recipient (`age1…` or an SSH public key; repeatable
    /// or comma-separated). Without it, the nearest .sops.yaml's creation rule names the
    /// recipients
    #[arg(long = "age", value_name = "RECIPIENT")]
    pub age: Vec<String>,
    /// The configuration file to write (default DIR/imported.hcl; never overwritten)
    #[arg(long, value_name = "FILE")]
    pub config_out: Option<PathBuf>,
    /// The SOPS file to write the values to, inside DIR (default DIR/imported.sops.yaml; mode
    /// 0600; never overwritten)
    #[arg(long, value_name = "FILE")]
    pub values_out: Option<PathBuf>,
    /// Most reads in progress at once
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_PARALLELISM as u32,
        value_parser = clap::value_parser!(u32).range(1..=MAX_PARALLELISM as i64)
    )]
    pub parallelism: u32,
}

/// Progress on stderr: the listing's count, then a line every 500 versions read.
struct Lines {
    total: std::sync::atomic::AtomicUsize,
    done: std::sync::atomic::AtomicUsize,
}

impl ImportProgress for Lines {
    fn listed(&self, secrets: usize) {
        eprintln!("Found {secrets} matching secrets.");
    }

    fn reading(&self, versions: usize) {
        self.total
            .store(versions, std::sync::atomic::Ordering::Relaxed);
        eprintln!("Reading {versions} versions...");
    }

    fn read_one(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if done.is_multiple_of(500) {
            let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
            eprintln!("  {done} of {total} read");
        }
    }
}

pub fn run(args: Args) -> CmdResult {
    let inputs = crate::config::VarInputs::default();
    let config = match workflow::load(&args.dir, &inputs, Mode::Validate) {
        Ok(c) => c,
        Err(d) => {
            super::plan::print_diagnostics(&d, super::plan::PlanFormat::Text);
            return Ok(Exit::Error);
        }
    };
    let mut tags = Vec::new();
    for t in &args.tags {
        tags.push(workflow::import::parse_tag(t)?);
    }
    let options = ImportOptions {
        matches: args.matches.clone(),
        tags,
        recipients: args.age.clone(),
        config_out: args
            .config_out
            .clone()
            .unwrap_or_else(|| args.dir.join("imported.hcl")),
        values_out: args
            .values_out
            .clone()
            .unwrap_or_else(|| args.dir.join("imported.sops.yaml")),
        parallelism: args.parallelism as usize,
    };
    // Refuse before connecting: nothing is read when nothing could be written.
    workflow::import::check_outputs(&config, &options)?;
    let progress = Lines {
        total: Default::default(),
        done: Default::default(),
    };
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let conn = Connection::open(&config).await?;
        workflow::import::import(&config, &conn, &options, &progress)
            .await
            .map_err(super::Error::from)
    })?;
    // Secret names come from the server's listing: escaped, so that none can forge a line.
    for s in &report.skipped {
        eprintln!("Skipped {}.", crate::config::diagnostics::printable(s));
    }
    println!(
        "Imported {} versions of {} secrets ({} binary).",
        report.versions, report.secrets, report.binary
    );
    println!(
        "Wrote {} (data \"sops_file\" \"{}\" and one secret block per version) and {} (the values, SOPS-encrypted, mode 0600).",
        report.config_out.display(),
        report.data_source,
        report.values_out.display()
    );
    println!(
        "Check with: ssmform plan {} --detailed-exitcode (it needs an age identity for the recipients, e.g. SOPS_AGE_KEY_FILE)",
        args.dir.display()
    );
    Ok(Exit::Success)
}
