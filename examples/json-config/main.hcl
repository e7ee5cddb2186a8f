# JSON secrets and key-level diffs.
#
# settings.json is the service's configuration; settings.next.json is the next release of it
# (a key changed, one added, one removed). Plan with --var settings_file=settings.next.json to see
# what the change does to each secret without editing anything.

provider "tencentcloud" {
  endpoint = "local"
}

variable "settings_file" {
  type        = string
  default     = "settings.json"
  description = "the JSON file (relative to this directory) that holds the service's settings"
}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "json-config-demo-token"
}

# A sensitive JSON secret (secrets are sensitive by default): the plan lists the keys that are
# added, removed or changed, and masks every value.
secret "service_config" {
  secret_name = "json-config-service"
  version_id  = "v1"
  secret_string = jsonencode(merge(
    jsondecode(file(var.settings_file)),
    { api_token = var.api_token },
  ))
}

# The same settings without the token: nothing in it is secret, so `sensitive = false` lets the
# plan show a real line diff of the file.
secret "public_settings" {
  secret_name   = "json-config-public"
  version_id    = "v1"
  sensitive     = false
  secret_string = file(var.settings_file)
}
