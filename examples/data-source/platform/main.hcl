# Stands for the platform team's configuration, which owns the database admin secret. It is a
# configuration of its own (ssmform does not read subdirectories), sharing the emulator store of
# the data-source example one level up so that both see the same secrets.

provider "tencentcloud" {
  endpoint    = "local"
  local_store = "../.ssmform/local.db"
}

variable "admin_password" {
  type      = string
  sensitive = true
  default   = "platform-demo-password"
}

secret "db_admin" {
  secret_name = "platform-db-admin"
  version_id  = "v3"
  secret_string = jsonencode({
    username = "admin"
    password = var.admin_password
    host     = "db.internal"
  })
}
