//! The action handlers, one per [`Action`]: what each action does with its parameters, the rules
//! it enforces (the status machine of docs/ssm-api.md#secret-status, the limits and duplicates of
//! docs/ssm-api.md#naming-rules-and-limits) and its response fields. Every response
//! lists every field the API documents, with zero values when unused, because SDK models and
//! strict clients expect them.
//!
//! Validation happens before the store is touched, and every change runs inside one
//! [`Store::write`] transaction that commits only on success: a rejected request changes nothing.
//!
//! Status machine (docs/ssm-api.md#secret-status):
//!
//! ```text
//!   CreateSecret ─▶ Enabled ◀──EnableSecret── Disabled ◀──DisableSecret── Enabled
//!                   Disabled ──DeleteSecret(1–30 days)──▶ PendingDelete ──RestoreSecret──▶ Disabled
//!                   Disabled ──DeleteSecret(0 days)──▶ gone
//! ```
//!
//! GetSecretValue answers only for Enabled secrets; UpdateSecret, PutSecretValue,
//! UpdateDescription and DeleteSecretVersion work on Enabled and Disabled ones. Rejections of a
//! state transition that the documentation does not name a code for use `FailedOperation`.

use serde_json::{Map, Value, json};

use super::action::Action;
use super::config::DEV_UIN;
use super::error::{ApiError, code};
use super::params::Params;
use super::rules;
use super::store::{Content, Secret, Status, Store, ValueLookup};

/// Where and when a request runs.
pub struct Context<'a> {
    pub store: &'a Store,
    pub region: &'a str,
    pub now: i64,
}

/// Run one action; the map holds the response fields (without `RequestId`).
pub fn execute(
    action: Action,
    params: &Params,
    ctx: &Context<'_>,
) -> Result<Map<String, Value>, ApiError> {
    match action {
        Action::UpdateSecret => update_secret(params, ctx),
        Action::GetSecretValue => get_secret_value(params, ctx),
        Action::PutSecretValue => put_secret_value(params, ctx),
        Action::CreateSecret => create_secret(params, ctx),
        Action::DescribeSecret => describe_secret(params, ctx),
        Action::ListSecretVersionIds => list_secret_version_ids(params, ctx),
        Action::ListSecrets => list_secrets(params, ctx),
        Action::DeleteSecretVersion => delete_secret_version(params, ctx),
        Action::EnableSecret => set_enabled(params, ctx, true),
        Action::DisableSecret => set_enabled(params, ctx, false),
        Action::RestoreSecret => restore_secret(params, ctx),
        Action::DeleteSecret => delete_secret(params, ctx),
        Action::UpdateDescription => update_description(params, ctx),
        Action::GetServiceStatus => get_service_status(params, ctx),
    }
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `SecretName`, checked against the naming rules.
fn name_param(params: &Params) -> Result<&str, ApiError> {
    let name = params.str_req("SecretName")?;
    rules::secret_name(name)?;
    Ok(name)
}

fn version_param(params: &Params) -> Result<&str, ApiError> {
    let v = params.str_req("VersionId")?;
    rules::version_id(v)?;
    Ok(v)
}

fn existing(db: &super::store::Db<'_>, ctx: &Context<'_>, name: &str) -> Result<Secret, ApiError> {
    db.secret(ctx.region, name, ctx.now)?
        .ok_or_else(|| ApiError::secret_not_found(name))
}

fn pending_deleted(name: &str) -> ApiError {
    ApiError::new(
        code::RESOURCE_PENDING_DELETED,
        format!("The secret `{name}` is pending deletion; restore it with RestoreSecret first."),
    )
}

fn version_not_found(name: &str, version: &str) -> ApiError {
    ApiError::new(
        code::RESOURCE_NOT_FOUND,
        format!("The version `{version}` of secret `{name}` does not exist."),
    )
}

/// Changes to content and description are allowed on Enabled and Disabled secrets only.
fn writable(secret: &Secret) -> Result<(), ApiError> {
    match secret.status {
        Status::PendingDelete => Err(pending_deleted(&secret.name)),
        Status::Enabled | Status::Disabled => Ok(()),
    }
}

fn update_secret(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName", "VersionId", "SecretString", "SecretBinary"])?;
    let name = name_param(params)?;
    let version = version_param(params)?;
    let content = rules::content(params)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        writable(&secret)?;
        if !db.update_version(ctx.region, name, version, &content)? {
            return Err(version_not_found(name, version));
        }
        Ok(())
    })?;
    Ok(fields(json!({"SecretName": name, "VersionId": version})))
}

fn get_secret_value(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&[
        "SecretName",
        "VersionId",
        "EncryptionPublicKey",
        "EncryptionAlgorithm",
    ])?;
    let name = name_param(params)?;
    let version = version_param(params)?;
    if params
        .str_opt("EncryptionPublicKey")?
        .is_some_and(|k| !k.is_empty())
    {
        return Err(ApiError::new(
            code::UNSUPPORTED_OPERATION,
            "The emulator does not support encrypted responses (`EncryptionPublicKey`).",
        ));
    }
    let lookup = ctx
        .store
        .read(|db| db.value(ctx.region, name, version, ctx.now))?;
    let content = match lookup {
        ValueLookup::NoSecret => return Err(ApiError::secret_not_found(name)),
        ValueLookup::Found {
            status: Status::Disabled,
            ..
        } => {
            return Err(ApiError::new(
                code::RESOURCE_DISABLED,
                format!("The secret `{name}` is disabled."),
            ));
        }
        ValueLookup::Found {
            status: Status::PendingDelete,
            ..
        } => return Err(pending_deleted(name)),
        ValueLookup::Found { content: None, .. } => return Err(version_not_found(name, version)),
        ValueLookup::Found {
            content: Some(c), ..
        } => c,
    };
    let (string, binary) = match content {
        Content::String(s) => (s, String::new()),
        Content::Binary(b) => (String::new(), b),
    };
    Ok(fields(json!({
        "SecretName": name,
        "VersionId": version,
        "SecretBinary": binary,
        "SecretString": string,
    })))
}

fn put_secret_value(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName", "VersionId", "SecretString", "SecretBinary"])?;
    let name = name_param(params)?;
    let version = version_param(params)?;
    let content = rules::content(params)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        writable(&secret)?;
        if db.version_exists(ctx.region, name, version)? {
            return Err(ApiError::new(
                code::RESOURCE_IN_USE_VERSION_ID_EXISTS,
                format!("The version `{version}` of secret `{name}` already exists."),
            ));
        }
        let count = db.versions(ctx.region, name)?.len() as u64;
        if count >= rules::MAX_VERSIONS_PER_SECRET {
            return Err(ApiError::new(
                code::LIMIT_EXCEEDED,
                format!(
                    "The secret `{name}` already has {count} versions, the maximum is {}.",
                    rules::MAX_VERSIONS_PER_SECRET
                ),
            ));
        }
        db.insert_version(ctx.region, name, version, &content, ctx.now)
    })?;
    Ok(fields(json!({"SecretName": name, "VersionId": version})))
}

fn tags_param(params: &Params) -> Result<Vec<(String, String)>, ApiError> {
    params
        .objects("Tags")?
        .into_iter()
        .map(|t| {
            let key = match t.get("TagKey") {
                Some(Value::String(k)) if !k.is_empty() => k.clone(),
                _ => return Err(ApiError::invalid_value("Tags", "every tag needs a TagKey")),
            };
            let value = match t.get("TagValue") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(v)) => v.clone(),
                Some(_) => return Err(ApiError::invalid_type("Tags.TagValue", "a string")),
            };
            Ok((key, value))
        })
        .collect()
}

fn create_secret(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&[
        "SecretName",
        "VersionId",
        "Description",
        "KmsKeyId",
        "SecretType",
        "SecretBinary",
        "SecretString",
        "AdditionalConfig",
        "Tags",
        "KmsHsmClusterId",
        "EncryptType",
    ])?;
    let name = name_param(params)?;
    let version = match params.str_opt("VersionId")? {
        None | Some("") => rules::DEFAULT_VERSION_ID,
        Some(v) => {
            rules::version_id(v)?;
            v
        }
    };
    let description = params.str_opt("Description")?.unwrap_or_default();
    rules::description(description)?;
    let secret_type = params.int_opt("SecretType")?.unwrap_or(0);
    if secret_type != 0 {
        return Err(ApiError::invalid_value(
            "SecretType",
            "the emulator stores user-defined secrets only (SecretType 0)",
        ));
    }
    let content = rules::content(params)?;
    let tags = tags_param(params)?;
    params.int_opt("EncryptType")?;
    params.str_opt("KmsHsmClusterId")?;
    let secret = Secret {
        name: name.to_string(),
        description: description.to_string(),
        kms_key_id: params.str_opt("KmsKeyId")?.unwrap_or_default().to_string(),
        secret_type,
        additional_config: params
            .str_opt("AdditionalConfig")?
            .unwrap_or_default()
            .to_string(),
        status: Status::Enabled,
        create_time: ctx.now,
        delete_time: 0,
        tags,
    };
    ctx.store.write(|db| {
        db.purge_expired(ctx.region, ctx.now)?;
        if db.secret(ctx.region, name, ctx.now)?.is_some() {
            return Err(ApiError::new(
                code::RESOURCE_IN_USE_SECRET_EXISTS,
                format!("The secret `{name}` already exists."),
            ));
        }
        let count = db.secret_count(ctx.region, ctx.now)?;
        if count >= rules::MAX_SECRETS_PER_REGION {
            return Err(ApiError::new(
                code::LIMIT_EXCEEDED,
                format!(
                    "The region `{}` already holds {count} secrets, the maximum is {}.",
                    ctx.region,
                    rules::MAX_SECRETS_PER_REGION
                ),
            ));
        }
        db.insert_secret(ctx.region, &secret, version, &content)
    })?;
    Ok(fields(json!({
        "SecretName": name,
        "VersionId": version,
        "TagCode": 0,
        "TagMsg": "",
    })))
}

fn describe_secret(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName"])?;
    let name = name_param(params)?;
    let s = ctx.store.read(|db| existing(db, ctx, name))?;
    Ok(fields(json!({
        "SecretName": s.name,
        "Description": s.description,
        "KmsKeyId": s.kms_key_id,
        "CreateUin": DEV_UIN,
        "Status": s.status.as_str(),
        "DeleteTime": s.delete_time,
        "CreateTime": s.create_time,
        "SecretType": s.secret_type,
        "ProductName": "",
        "ResourceID": "",
        "RotationStatus": false,
        "RotationFrequency": 0,
        "ResourceName": "",
        "ProjectID": 0,
        "AssociatedInstanceIDs": [],
        "TargetUin": 0,
        "AdditionalConfig": s.additional_config,
        "EncryptType": 0,
        "EncryptSwitching": false,
        "CreateUinString": DEV_UIN.to_string(),
        "TargetUinString": "",
        "AccountInfoList": [],
        "NextRotationTime": "",
    })))
}

fn list_secret_version_ids(
    params: &Params,
    ctx: &Context<'_>,
) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName"])?;
    let name = name_param(params)?;
    let versions = ctx.store.read(|db| {
        existing(db, ctx, name)?;
        db.versions(ctx.region, name)
    })?;
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|v| json!({"VersionId": v.version_id, "CreateTime": v.create_time}))
        .collect();
    Ok(fields(json!({"SecretName": name, "Versions": versions})))
}

/// ListSecrets' `TagFilters`: every filter must match one of the secret's tags (same key and, if
/// values are listed, one of them).
struct TagFilter {
    key: String,
    values: Vec<String>,
}

fn tag_filters(params: &Params) -> Result<Vec<TagFilter>, ApiError> {
    params
        .objects("TagFilters")?
        .into_iter()
        .map(|f| {
            let key = match f.get("TagKey") {
                Some(Value::String(k)) => k.clone(),
                _ => return Err(ApiError::missing("TagFilters.TagKey")),
            };
            let values = match f.get("TagValue") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(vs)) => vs
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            ApiError::invalid_type("TagFilters.TagValue", "a list of strings")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err(ApiError::invalid_type(
                        "TagFilters.TagValue",
                        "a list of strings",
                    ));
                }
            };
            Ok(TagFilter { key, values })
        })
        .collect()
}

fn list_secrets(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&[
        "Offset",
        "Limit",
        "OrderType",
        "State",
        "SearchSecretName",
        "TagFilters",
        "SecretType",
        "ProductName",
        "EncryptType",
        "InstanceID",
    ])?;
    let offset = params.int_opt("Offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_value("Offset", "it must not be negative"));
    }
    let limit = params.int_opt("Limit")?.unwrap_or(20);
    if limit < 1 {
        return Err(ApiError::invalid_value("Limit", "it must be at least 1"));
    }
    let newest_first = match params.int_opt("OrderType")?.unwrap_or(0) {
        0 => true,
        1 => false,
        _ => return Err(ApiError::invalid_value("OrderType", "it must be 0 or 1")),
    };
    let state = match params.int_opt("State")?.unwrap_or(0) {
        0 => None,
        1 => Some(Status::Enabled),
        2 => Some(Status::Disabled),
        3 => Some(Status::PendingDelete),
        _ => return Err(ApiError::invalid_value("State", "it must be 0, 1, 2 or 3")),
    };
    let search = params.str_opt("SearchSecretName")?.unwrap_or_default();
    let filters = tag_filters(params)?;
    let secret_type = params.int_opt("SecretType")?;
    let product = params.str_opt("ProductName")?.unwrap_or_default();
    params.int_opt("EncryptType")?;
    params.str_opt("InstanceID")?;

    let mut secrets = ctx.store.read(|db| db.secrets(ctx.region, ctx.now))?;
    secrets.retain(|s| {
        state.is_none_or(|st| s.status == st)
            && s.name.contains(search)
            && secret_type.is_none_or(|t| s.secret_type == t)
            && product.is_empty()
            && filters.iter().all(|f| {
                s.tags
                    .iter()
                    .any(|(k, v)| *k == f.key && (f.values.is_empty() || f.values.contains(v)))
            })
    });
    if newest_first {
        secrets.reverse();
    }
    let total = secrets.len();
    let page: Vec<Value> = secrets
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|s| {
            json!({
                "SecretName": s.name,
                "Description": s.description,
                "KmsKeyId": s.kms_key_id,
                "CreateUin": DEV_UIN,
                "Status": s.status.as_str(),
                "DeleteTime": s.delete_time,
                "CreateTime": s.create_time,
                "KmsKeyType": if s.kms_key_id.is_empty() { "DEFAULT" } else { "CUSTOMER" },
                "RotationStatus": 0,
                "NextRotationTime": 0,
                "SecretType": s.secret_type,
                "ProductName": "",
                "ResourceName": "",
                "ProjectID": 0,
                "AssociatedInstanceIDs": [],
                "TargetUin": 0,
                "RotationFrequency": 0,
                "ResourceID": "",
                "RotationBeginTime": "",
                "EncryptType": 0,
                "EncryptSwitching": false,
                "CreateUinString": DEV_UIN.to_string(),
                "TargetUinString": "",
            })
        })
        .collect();
    Ok(fields(
        json!({"TotalCount": total, "SecretMetadatas": page}),
    ))
}

fn delete_secret_version(
    params: &Params,
    ctx: &Context<'_>,
) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName", "VersionId"])?;
    let name = name_param(params)?;
    let version = version_param(params)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        writable(&secret)?;
        if !db.delete_version(ctx.region, name, version)? {
            return Err(version_not_found(name, version));
        }
        Ok(())
    })?;
    Ok(fields(json!({"SecretName": name, "VersionId": version})))
}

fn set_enabled(
    params: &Params,
    ctx: &Context<'_>,
    enable: bool,
) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName"])?;
    let name = name_param(params)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        writable(&secret)?;
        let status = if enable {
            Status::Enabled
        } else {
            Status::Disabled
        };
        db.set_status(ctx.region, name, status, 0)
    })?;
    Ok(fields(json!({"SecretName": name})))
}

fn restore_secret(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName"])?;
    let name = name_param(params)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        if secret.status != Status::PendingDelete {
            return Err(ApiError::new(
                code::FAILED_OPERATION,
                format!(
                    "The secret `{name}` is {}, not pending deletion; only a PendingDelete secret can be restored.",
                    secret.status.as_str()
                ),
            ));
        }
        db.set_status(ctx.region, name, Status::Disabled, 0)
    })?;
    Ok(fields(json!({"SecretName": name})))
}

fn delete_secret(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&[
        "SecretName",
        "RecoveryWindowInDays",
        "CleanSSHKey",
        "DeleteMode",
    ])?;
    let name = name_param(params)?;
    let days = params.int_opt("RecoveryWindowInDays")?.unwrap_or(0);
    if !(0..=30).contains(&days) {
        return Err(ApiError::invalid_value(
            "RecoveryWindowInDays",
            "it must be from 0 to 30",
        ));
    }
    params.bool_opt("CleanSSHKey")?;
    params.int_opt("DeleteMode")?;
    let delete_time = ctx.now + days * 86_400;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        match secret.status {
            Status::Disabled => {}
            Status::PendingDelete => return Err(pending_deleted(name)),
            Status::Enabled => {
                return Err(ApiError::new(
                    code::FAILED_OPERATION,
                    format!("The secret `{name}` is Enabled; disable it before deleting it."),
                ));
            }
        }
        if days == 0 {
            db.delete_secret(ctx.region, name)
        } else {
            db.set_status(ctx.region, name, Status::PendingDelete, delete_time)
        }
    })?;
    Ok(fields(json!({
        "SecretName": name,
        "DeleteTime": delete_time,
        "FlowID": 0,
    })))
}

fn update_description(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&["SecretName", "Description"])?;
    let name = name_param(params)?;
    let description = params.str_req("Description")?;
    rules::description(description)?;
    ctx.store.write(|db| {
        let secret = existing(db, ctx, name)?;
        writable(&secret)?;
        db.set_description(ctx.region, name, description)
    })?;
    Ok(fields(json!({"SecretName": name})))
}

fn get_service_status(params: &Params, ctx: &Context<'_>) -> Result<Map<String, Value>, ApiError> {
    params.reject_unknown(&[])?;
    let total = ctx.store.read(|db| db.secret_count(ctx.region, ctx.now))?;
    Ok(fields(json!({
        "ServiceEnabled": true,
        "InvalidType": 0,
        "AccessKeyEscrowEnabled": false,
        "ExpireTime": "",
        "QPSLimit": 0,
        "SecretLimit": rules::MAX_SECRETS_PER_REGION,
        "PayModel": "",
        "RenewFlag": 0,
        "ResourceId": "",
        "TotalCount": total,
        "ResourceRegion": 0,
    })))
}
