# Binary secrets. secret_binary takes base64; filebase64() reads a file (relative to this
# directory) and encodes it. The files here are 64 bytes of demo data, not real keytabs.

provider "tencentcloud" {
  endpoint = "local"
}

variable "keytab_file" {
  type    = string
  default = "files/service-v1.keytab"
}

variable "pepper" {
  type      = string
  sensitive = true
  default   = "binary-demo-pepper"
}

secret "service_keytab" {
  secret_name   = "binary-service-keytab"
  version_id    = "v1"
  secret_binary = filebase64(var.keytab_file)
  # Set at creation, kept in sync afterwards (UpdateDescription).
  description = "Kerberos keytab of the demo service"
}

# Bytes that are not in a file: base64encode() turns a string into the base64 secret_binary wants.
secret "pepper" {
  secret_name   = "binary-pepper"
  version_id    = "v1"
  secret_binary = base64encode(var.pepper)
}
