# The quickstart: three secrets on the embedded emulator, no Tencent Cloud account needed.
#
#   cargo run --release -- apply examples/quickstart --auto-approve
#
# The emulator keeps its state in .ssmform/local.db next to this file (never commit .ssmform/).

provider "tencentcloud" {
  # "local" starts ssmform's own SSM emulator in-process; delete this line to manage real
  # secrets (credentials then come from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY).
  endpoint = "local"
}

variable "env" {
  type    = string
  default = "dev"
}

variable "db_password" {
  type      = string
  sensitive = true
  # A demo value. In a real configuration leave the default out and pass the value with
  # SSMFORM_VAR_db_password, --var-file or --var: a variable without a value is an error.
  default = "quickstart-demo-password"
}

locals {
  db_host = "db.${var.env}.internal"
}

secret "db_password" {
  secret_name   = "quickstart-db-password"
  version_id    = "v1"
  secret_string = var.db_password
}

# Refers to secret.db_password, so it is written after it (in a later wave).
secret "db_url" {
  secret_name   = "quickstart-db-url"
  version_id    = "v1"
  secret_string = "postgres://app:${secret.db_password.secret_string}@${local.db_host}:5432/app"
}

# A JSON secret: plans name the keys that change and mask their values.
secret "app_settings" {
  secret_name = "quickstart-app-settings"
  version_id  = "v1"
  secret_string = jsonencode({
    log_level = "info"
    db_host   = local.db_host
  })
}
