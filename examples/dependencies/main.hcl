# Three waves. A secret is written only after every changed secret it depends on, through a
# reference (secret.X.secret_string) or through depends_on:
#
#   wave 1: db_password, api_key                 (depend on nothing)
#   wave 2: db_url                               (embeds db_password)
#   wave 3: app_config                           (embeds db_url and api_key)
#           credentials_ready                    (depends_on db_url: an order, no data)
#
# See the graph with: cargo run --release -- graph examples/dependencies

provider "tencentcloud" {
  endpoint = "local"
}

variable "db_password" {
  type      = string
  sensitive = true
  default   = "dependencies-demo-password"
}

variable "api_key" {
  type      = string
  sensitive = true
  default   = "dependencies-demo-api-key"
}

locals {
  db_host = "db.internal"
}

secret "db_password" {
  secret_name   = "deps-db-password"
  version_id    = "v1"
  secret_string = var.db_password
}

secret "api_key" {
  secret_name   = "deps-api-key"
  version_id    = "v1"
  secret_string = var.api_key
}

secret "db_url" {
  secret_name   = "deps-db-url"
  version_id    = "v1"
  secret_string = "postgres://app:${secret.db_password.secret_string}@${local.db_host}:5432/app"
}

secret "app_config" {
  secret_name = "deps-app-config"
  version_id  = "v1"
  secret_string = jsonencode({
    db_url  = secret.db_url.secret_string
    api_key = secret.api_key.secret_string
  })
}

# Holds no data from db_url, but consumers read it to learn that the database credentials are in
# place, so it must be written after them: depends_on orders it without a reference.
secret "credentials_ready" {
  secret_name   = "deps-credentials-ready"
  version_id    = "v1"
  sensitive     = false
  secret_string = "database credentials ready"
  depends_on    = [secret.db_url]
}
