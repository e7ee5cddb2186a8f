//! The CI recipes' credentials (examples/ci): OIDC per job, a read-only role for everything a
//! pull or merge request can run, the write role only for the apply job of the protected
//! environment; the CAM policies narrowed to a name prefix; the trust policies restricted to the
//! repository, and for the write role to the protected environment or branch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

fn ci(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(file)
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(ci(file)).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn json(file: &str) -> Value {
    let text = std::fs::read_to_string(ci(file)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

const READ: &[&str] = &[
    "ssm:GetSecretValue",
    "ssm:DescribeSecret",
    "ssm:ListSecrets",
    "ssm:ListSecretVersionIds",
];
const WRITE: &[&str] = &["ssm:UpdateSecret", "ssm:PutSecretValue", "ssm:CreateSecret"];

/// Every (action, resource) pair a policy allows.
fn grants(policy: &Value) -> Vec<(String, String)> {
    assert_eq!(policy["version"], "2.0");
    let mut out = Vec::new();
    for st in policy["statement"].as_array().unwrap() {
        assert_eq!(st["effect"], "allow");
        for a in st["action"].as_array().unwrap() {
            for r in st["resource"].as_array().unwrap() {
                out.push((a.as_str().unwrap().into(), r.as_str().unwrap().into()));
            }
        }
    }
    out
}

#[test]
fn the_policies_grant_reads_or_reads_and_writes_on_one_name_prefix() {
    let read = grants(&json("cam/ssm-read-policy.json"));
    let write = grants(&json("cam/ssm-write-policy.json"));
    let actions =
        |g: &[(String, String)]| -> BTreeSet<String> { g.iter().map(|(a, _)| a.clone()).collect() };
    assert_eq!(
        actions(&read),
        READ.iter().map(|s| s.to_string()).collect(),
        "exactly the reads"
    );
    assert_eq!(
        actions(&write),
        READ.iter().chain(WRITE).map(|s| s.to_string()).collect(),
        "the reads and the writes ssmform uses, nothing else (no Delete*)"
    );
    // The lifecycle settings' operations, deletions among them, are a policy of their own that
    // only configurations using them attach.
    let lifecycle = grants(&json("cam/ssm-lifecycle-policy.json"));
    assert_eq!(
        actions(&lifecycle),
        [
            "ssm:DeleteSecret",
            "ssm:DeleteSecretVersion",
            "ssm:DisableSecret",
            "ssm:EnableSecret",
            "ssm:RestoreSecret",
            "ssm:UpdateDescription",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    for (action, resource) in read.iter().chain(&write).chain(&lifecycle) {
        if action == "ssm:ListSecrets" {
            // API-level in CAM: it cannot be narrowed to a resource.
            assert_eq!(resource, "*");
        } else {
            assert!(
                resource.starts_with("qcs::ssm:")
                    && resource.ends_with(":secret/creatorUin/*/app-*"),
                "{action} is narrowed to the name prefix: {resource}"
            );
        }
    }
}

/// The `oidc:sub` values a trust policy accepts, and that it names the provider, issuer and
/// audience.
fn subjects(file: &str, issuer: &str) -> Vec<String> {
    let t = json(file);
    let st = &t["statement"][0];
    assert_eq!(
        t["statement"].as_array().unwrap().len(),
        1,
        "{file}: one statement"
    );
    assert_eq!(st["action"], "name/sts:AssumeRoleWithWebIdentity", "{file}");
    assert!(
        st["principal"]["federated"][0]
            .as_str()
            .unwrap()
            .contains(":oidc-provider/"),
        "{file}"
    );
    let eq = &st["condition"]["string_equal"];
    assert_eq!(eq["oidc:iss"], issuer, "{file}");
    assert!(eq["oidc:aud"].is_string(), "{file}: audience pinned");
    let sub = if eq["oidc:sub"].is_null() {
        &st["condition"]["string_like"]["oidc:sub"]
    } else {
        &eq["oidc:sub"]
    };
    match sub {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        other => panic!("{file}: oidc:sub is {other}"),
    }
}

#[test]
fn trust_policies_accept_only_the_repository_and_the_write_role_only_its_protected_jobs() {
    let gh = "https://token.actions.githubusercontent.com";
    let read = subjects("cam/github-read-trust.json", gh);
    assert!(
        read.iter().all(|s| s.starts_with("repo:OWNER/REPO:")),
        "{read:?}"
    );
    assert_eq!(
        subjects("cam/github-write-trust.json", gh),
        ["repo:OWNER/REPO:environment:production"]
    );
    let gl = "https://gitlab.com";
    let read = subjects("cam/gitlab-read-trust.json", gl);
    assert!(
        read.iter()
            .all(|s| s.starts_with("project_path:GROUP/PROJECT:")),
        "{read:?}"
    );
    assert_eq!(
        subjects("cam/gitlab-write-trust.json", gl),
        ["project_path:GROUP/PROJECT:ref_type:branch:ref:main"]
    );
}

#[test]
fn github_jobs_get_oidc_tokens_and_only_apply_in_production_gets_the_write_role() {
    let doc = yaml("github-actions.yml");
    assert!(
        doc["env"]["TENCENTCLOUD_SECRET_ID"].is_badvalue(),
        "no keys shared by all jobs"
    );
    assert!(
        doc["env"]["TENCENTCLOUD_ASSUME_ROLE_PROVIDER_ID"]
            .as_str()
            .is_some()
    );
    for (job, role, environment) in [
        ("plan", "SSMFORM_READ_ROLE_ARN", None),
        ("drift", "SSMFORM_READ_ROLE_ARN", None),
        ("apply", "SSMFORM_WRITE_ROLE_ARN", Some("production")),
    ] {
        let j = &doc["jobs"][job];
        assert_eq!(
            j["permissions"]["id-token"].as_str(),
            Some("write"),
            "{job}"
        );
        assert_eq!(
            j["env"]["TENCENTCLOUD_ASSUME_ROLE_ARN"].as_str(),
            Some(format!("${{{{ vars.{role} }}}}").as_str()),
            "{job}"
        );
        assert_eq!(j["environment"].as_str(), environment, "{job}");
        let token_step = j["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str() == Some("OIDC token for Tencent Cloud STS"))
            .unwrap_or_else(|| panic!("{job}: no token step"));
        let run = token_step["run"].as_str().unwrap();
        assert!(run.contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{run}");
        assert!(
            run.contains("umask 077"),
            "the token file is private: {run}"
        );
        assert!(
            run.contains("TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN_FILE"),
            "{run}"
        );
        let keys = j["env"]["TENCENTCLOUD_SECRET_ID"].as_str().unwrap_or("");
        if environment.is_none() {
            assert!(
                keys.contains("READ"),
                "{job}: fallback keys are the read-only pair"
            );
        }
    }
}

#[test]
fn gitlab_jobs_get_id_tokens_and_only_apply_gets_the_write_role() {
    let doc = yaml("gitlab-ci.yml");
    for (job, role) in [
        ("ssmform-plan", "$SSMFORM_READ_ROLE_ARN"),
        ("ssmform-drift", "$SSMFORM_READ_ROLE_ARN"),
        ("ssmform-apply", "$SSMFORM_WRITE_ROLE_ARN"),
    ] {
        let j = &doc[job];
        assert!(
            j["id_tokens"]["TENCENTCLOUD_ASSUME_ROLE_WEB_IDENTITY_TOKEN"]["aud"]
                .as_str()
                .is_some(),
            "{job}: an id_token named as ssmform reads it"
        );
        assert_eq!(
            j["variables"]["TENCENTCLOUD_ASSUME_ROLE_ARN"].as_str(),
            Some(role),
            "{job}"
        );
    }
    assert_eq!(
        doc["ssmform-apply"]["environment"].as_str(),
        Some("production")
    );
}
