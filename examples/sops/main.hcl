provider "tencentcloud" {
  region   = "ap-guangzhou"
  endpoint = "local"
}

# The values live in secrets.enc.yaml: its keys in clear, each value encrypted with SOPS to the
# TEST-ONLY age key of this directory. ssmform decrypts it in memory at plan time.
data "sops_file" "app" {
  source_file = "secrets.enc.yaml"
}

secret "db_password" {
  secret_name   = "sops-db-password"
  version_id    = "v1"
  secret_string = data.sops_file.app.data["db.password"]
}

secret "db_url" {
  secret_name   = "sops-db-url"
  version_id    = "v1"
  secret_string = "postgres://${data.sops_file.app.data["db.user"]}:${data.sops_file.app.data["db.password"]}@${data.sops_file.app.data["db.hosts.0"]}:${data.sops_file.app.data["db.port"]}/app"
}

# Every key under `api` of the SOPS file, as one JSON document: the plan names the keys that
# change (they are in clear in the file) and masks their values.
secret "api" {
  secret_name   = "sops-api"
  version_id    = "v1"
  secret_string = jsonencode({ for k, v in data.sops_file.app.data : trimprefix(k, "api.") => v if startswith(k, "api.") })
}
