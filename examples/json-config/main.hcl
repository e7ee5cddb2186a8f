# JSON secrets and key-level diffs.
#
# settings.hcl holds the service's settings for two releases: `current`, and `next` (a key changed,
# one added, one removed). Plan with --var release=next to see what the next release does to each
# secret without editing anything.

provider "tencentcloud" {
  endpoint = "local"
}

variable "release" {
  type        = string
  default     = "current"
  description = "which release's settings to deploy: current or next"
}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "json-config-demo-token"
}

# A sensitive JSON secret (secrets are sensitive by default): the plan lists the keys that are
# added, removed or changed, and masks every value. The key names are shown because they are
# written in this configuration; api_token's value is marked sensitive and stays masked.
secret "service_config" {
  secret_name = "json-config-service"
  version_id  = "v1"
  secret_string = jsonencode(merge(
    local.settings[var.release],
    { api_token = var.api_token },
  ))
}

# The same settings without the token: nothing in it is secret, so `sensitive = false` lets the
# plan show a real line diff. Only values built from literals and non-sensitive variables may be
# sensitive = false; a file read with file() could not be.
secret "public_settings" {
  secret_name   = "json-config-public"
  version_id    = "v1"
  sensitive     = false
  secret_string = jsonencode(local.settings[var.release])
}
