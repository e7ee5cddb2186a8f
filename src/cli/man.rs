//! `ssmform man`: the manual page, generated from the command tree (clap_mangen).
//!
//! To stdout it prints one page, `ssmform(1)`, that documents the whole tree: the tool, then under
//! COMMANDS every subcommand with its usage, description and options, then exit status,
//! environment and files. With `--out-dir DIR` it writes that page as `ssmform.1` and one page per
//! subcommand (`ssmform-plan.1`, ...), the layout packagers install under `man1/`.
//!
//! clap_mangen renders whole pages or whole sections (`.SH OPTIONS` and its items). The single page
//! reuses its section renderers for each subcommand and turns their `.SH` headings into plain
//! paragraphs, so a subcommand's options sit inside its `.SS` subsection instead of starting new
//! top-level sections.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::{Cli, CmdResult, Exit};

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Read the page with: ssmform man | man -l -")]
pub struct Args {
    /// Write ssmform.1 and one page per command (ssmform-plan.1, ...) into DIR instead of printing
    /// the single page to stdout; DIR is created if missing
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    match &args.out_dir {
        None => {
            let page = page()?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            for path in write_pages(dir)? {
                println!("{}", path.display());
            }
        }
    }
    Ok(Exit::Success)
}

/// The command tree as clap_mangen should see it: built (so subcommands have their `ssmform plan`
/// bin names) and without clap's implicit `help` subcommand.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The single `ssmform(1)` page covering every command, as roff.
pub fn page() -> std::io::Result<Vec<u8>> {
    let cmd = command();
    let man = Man::new(cmd.clone());
    let mut page = Page::default();
    page.render(|w| man.render_title(w))?;
    page.render(|w| man.render_name_section(w))?;
    page.render(|w| man.render_synopsis_section(w))?;
    page.render(|w| man.render_description_section(w))?;
    page.render(|w| man.render_options_section(w))?;

    page.roff(Roff::new().control("SH", ["COMMANDS"]))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_man = Man::new(sub.clone());
        let mut roff = Roff::new();
        roff.control("SS", [format!("ssmform {}", sub.get_name()).as_str()]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.control("PP", NO_ARGS).text([roman(about.to_string())]);
        }
        page.roff(&roff)?;
        let mut section = Vec::new();
        sub_man.render_synopsis_section(&mut section)?;
        page.push(&demote_headings(&section));
        let mut section = Vec::new();
        sub_man.render_options_section(&mut section)?;
        page.push(&demote_headings(&section));
        if let Some(after) = sub.get_after_long_help().or_else(|| sub.get_after_help()) {
            page.roff(
                Roff::new()
                    .control("PP", NO_ARGS)
                    .control("nf", NO_ARGS)
                    .text([roman(after.to_string())])
                    .control("fi", NO_ARGS),
            )?;
        }
    }
    page.roff(&extra_sections())?;
    Ok(page.bytes)
}

const NO_ARGS: [&str; 0] = [];

/// The roff preamble that every clap_mangen/roff render starts with (it defines the `Aq` string
/// for apostrophes). A page needs it once.
const PREAMBLE: &[u8] = b".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// A page assembled from separately rendered pieces, keeping only the first preamble.
#[derive(Default)]
struct Page {
    bytes: Vec<u8>,
}

impl Page {
    fn push(&mut self, piece: &[u8]) {
        let piece = match piece.strip_prefix(PREAMBLE) {
            Some(rest) if !self.bytes.is_empty() => rest,
            _ => piece,
        };
        self.bytes.extend_from_slice(piece);
    }

    fn render(
        &mut self,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut buf = Vec::new();
        f(&mut buf)?;
        self.push(&buf);
        Ok(())
    }

    fn roff(&mut self, roff: &Roff) -> std::io::Result<()> {
        self.render(|w| roff.to_writer(w))
    }
}

/// Turn each `.SH HEADING` line of a rendered section into a bold paragraph label, so that it can
/// sit inside a subcommand's `.SS` subsection. Other lines are kept as they are.
fn demote_headings(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => {
                let heading = heading.trim_matches('"');
                // "SYNOPSIS" → "Usage:", "OPTIONS" → "Options:".
                let label = match heading {
                    "SYNOPSIS" => "Usage:".to_string(),
                    other => {
                        let mut chars = other.chars();
                        let first = chars.next().unwrap_or(' ');
                        format!("{first}{}:", chars.as_str().to_lowercase())
                    }
                };
                out.push_str(".PP\n\\fB");
                out.push_str(&label);
                out.push_str("\\fR\n.br\n");
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO: facts clap does not know.
fn extra_sections() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        (
            "0",
            "Success. With plan --detailed-exitcode: success and no changes.",
        ),
        (
            "1",
            "An error: a command line that does not parse (unknown flag or subcommand, bad value, \
             missing argument), bad configuration, a failed API call, a refused or failed apply.",
        ),
        (
            "2",
            "Success with changes (only with plan --detailed-exitcode).",
        ),
        (
            "130",
            "Interrupted (Ctrl-C): requests in flight finished, the rest was not started.",
        ),
    ] {
        r.control("TP", NO_ARGS)
            .text([bold(code)])
            .text([roman(meaning)]);
    }

    r.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        (
            "TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY",
            "API credentials (else ~/.tencentcloud/credentials, else the tccli profile). Not needed \
             with endpoint = \"local\". Never put credentials in configuration files.",
        ),
        (
            "TENCENTCLOUD_SECURITY_TOKEN, TENCENTCLOUD_TOKEN",
            "The session token of temporary credentials.",
        ),
        (
            "TENCENTCLOUD_ASSUME_ROLE_ARN, TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME, \
             TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION, TENCENTCLOUD_ASSUME_ROLE_EXTERNAL_ID",
            "A role to assume (AssumeRole with the other credentials, or AssumeRoleWithWebIdentity \
             with a token below); also the defaults of the provider block's assume_role and \
             assume_role_with_web_identity attributes.",
        ),
        (
            "TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN, \
             TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN_FILE, TENCENTCLOUD_ASSUME_ROLE_PROVIDER_ID",
            "An OIDC token (or a file holding one, read again at every refresh) to exchange for \
             temporary credentials with no other secret; the CAM identity provider (default OIDC).",
        ),
        (
            "TKE_ROLE_ARN, TKE_WEB_IDENTITY_TOKEN_FILE, TKE_PROVIDER_ID, TKE_REGION",
            "TKE pod identity: the same exchange with a projected service-account token.",
        ),
        (
            "TENCENTCLOUD_CAM_ROLE_NAME",
            "The CVM instance role whose credentials the metadata service provides.",
        ),
        (
            "SSMFORM_ALLOWED_ENDPOINTS",
            "Hosts (host, host:port or URL, comma-separated) besides *.tencentcloudapi.com, \
             loopback and metadata.tencentyun.com that the provider block's endpoint, sts_endpoint \
             and metadata_endpoint may name. Only the environment can set it.",
        ),
        (
            "TENCENTCLOUD_REGION",
            "The region when the provider block sets none.",
        ),
        (
            "TENCENTCLOUD_PROFILE",
            "The credentials profile when the provider block sets none.",
        ),
        (
            "SSMFORM_PLAN_KEY",
            "The key of fingerprints and of plan-file MACs (a long random string). Without it the \
             key is derived from the API secret key; temporary credentials from a role need it. A \
             plan job and the apply job that applies its plan file must have the same key.",
        ),
        (
            "SSMFORM_VAR_name",
            "The value of variable name (overridden by *.auto.vars.hcl, --var-file and --var).",
        ),
        (
            "TF_VAR_name",
            "Terraform's spelling, read when SSMFORM_VAR_name is not set.",
        ),
        (
            "SSMFORM_LOG",
            "Log filter for stderr, e.g. debug or ssmform::apply=trace (default: warnings). Logs \
             never contain secret values.",
        ),
        (
            "NO_COLOR",
            "Set to anything to turn colours off (they are used only on a terminal).",
        ),
        (
            "SSMFORM_EMULATOR_SECRET_ID, SSMFORM_EMULATOR_SECRET_KEY",
            "Credentials for ssmform emulator to accept instead of its development ones.",
        ),
    ] {
        r.control("TP", NO_ARGS)
            .text([bold(name)])
            .text([roman(meaning)]);
    }

    r.control("SH", ["FILES"]);
    for (name, meaning) in [
        (
            "*.hcl",
            "The configuration: every *.hcl file of the directory, not recursively, except \
             *.vars.hcl.",
        ),
        (
            "*.auto.vars.hcl",
            "Variable values loaded automatically, in lexical order; other *.vars.hcl files only \
             with --var-file.",
        ),
        (
            ".ssmform/",
            "Local state under the configuration directory: apply journals (journal/*.jsonl) and, \
             with endpoint = \"local\", the embedded emulator's store (local.db). Keep it out of \
             version control.",
        ),
    ] {
        r.control("TP", NO_ARGS)
            .text([bold(name)])
            .text([roman(meaning)]);
    }
    r
}

/// Write `ssmform.1` (the single page) and one page per subcommand into `dir`; returns the paths.
pub fn write_pages(dir: &Path) -> Result<Vec<PathBuf>, super::Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    let cmd = command();
    let mut written = Vec::new();
    let root = dir.join("ssmform.1");
    std::fs::write(&root, page()?).map_err(|e| format!("cannot write {}: {e}", root.display()))?;
    written.push(root);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = Man::new(sub.clone())
            .generate_to(dir)
            .map_err(|e| format!("cannot write a page into {}: {e}", dir.display()))?;
        written.push(path);
    }
    Ok(written)
}
