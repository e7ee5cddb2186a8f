# A secret composed from one that another configuration manages. ssmform reads the upstream secret
# (data "ssm_secret") and never writes it.
#
# On the embedded emulator the upstream secret must exist first: platform/ stands for the other
# team's configuration and shares this directory's emulator store. From the repository root:
#
#   cargo run --release -- apply examples/data-source/platform --auto-approve
#   cargo run --release -- apply examples/data-source --auto-approve

provider "tencentcloud" {
  endpoint = "local"
}

# Managed elsewhere: read at plan time, pinned to one version.
data "ssm_secret" "db_admin" {
  secret_name = "platform-db-admin"
  version_id  = "v3"
}

locals {
  admin = jsondecode(data.ssm_secret.db_admin.secret_string)
}

secret "migrations_db_url" {
  secret_name   = "app-migrations-db-url"
  version_id    = "v1"
  secret_string = "postgres://${local.admin.username}:${local.admin.password}@${local.admin.host}:5432/app"
}

secret "app_config" {
  secret_name = "app-config"
  version_id  = "v1"
  secret_string = jsonencode({
    db_host   = local.admin.host
    log_level = "info"
  })
}
