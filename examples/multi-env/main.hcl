# One configuration, several environments. The environment's values come from a variables file:
#
#   ssmform plan examples/multi-env --var-file examples/multi-env/staging.vars.hcl
#   ssmform plan examples/multi-env --var-file examples/multi-env/prod.vars.hcl
#
# Files named *.vars.hcl are never loaded as configuration, and only *.auto.vars.hcl files are
# loaded without being named: staging.vars.hcl and prod.vars.hcl apply only when passed with
# --var-file.

provider "tencentcloud" {
  endpoint = "local"
  # Each environment lives in its own region; against the real API, each would usually also
  # have its own credentials (a tccli profile: profile = var.profile).
  region = var.region
}

variable "env" {
  type        = string
  description = "environment name, part of every secret name"
}

variable "region" {
  type = string
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "replicas" {
  type = number
}

variable "db_password" {
  type      = string
  sensitive = true
  # A demo value, the same for both environments. In real use leave the default out and give each
  # environment its own through SSMFORM_VAR_db_password (from the CI's secret store), never in a
  # committed *.vars.hcl file.
  default = "multi-env-demo-password"
}

locals {
  db_host = "db.${var.env}.internal"
}

secret "db_url" {
  secret_name   = "${var.env}-app-db-url"
  version_id    = "v1"
  secret_string = "postgres://app:${var.db_password}@${local.db_host}:5432/app"
}

secret "app_config" {
  secret_name = "${var.env}-app-config"
  version_id  = "v1"
  secret_string = jsonencode({
    env       = var.env
    log_level = var.log_level
    replicas  = var.replicas
    db_url    = secret.db_url.secret_string
  })
}
