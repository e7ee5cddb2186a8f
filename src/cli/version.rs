//! `ssmform version [--json]`: the version and platform, shaped like Terraform's `version`.
//!
//! Text: `ssmform v0.1.0` and `on linux_amd64`. JSON: `{"ssmform_version": "0.1.0", "platform":
//! "linux_amd64", "plan_file_format": 1}` (Terraform's `terraform_version` renamed; the platform
//! named as Go names it, as Terraform does).

use super::{CmdResult, Exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON object (`ssmform_version`, `platform`, `plan_file_format`), as
    /// `terraform version -json` does
    #[arg(long)]
    pub json: bool,
}

/// This build's version (`Cargo.toml`'s).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The platform as Terraform names it (Go's `GOOS_GOARCH`): `linux_amd64`, `darwin_arm64`.
pub fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        other => other,
    };
    format!("{os}_{arch}")
}

pub fn run(args: Args) -> CmdResult {
    if args.json {
        #[derive(serde::Serialize)]
        struct Version {
            ssmform_version: &'static str,
            platform: String,
            plan_file_format: u32,
        }
        let v = Version {
            ssmform_version: VERSION,
            platform: platform(),
            plan_file_format: crate::plan::file::FORMAT_VERSION,
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("ssmform v{VERSION}\non {}", platform());
    }
    Ok(Exit::Success)
}
