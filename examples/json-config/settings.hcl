# The service's settings, per release.
locals {
  settings = {
    current = {
      log_level  = "info"
      pool_size  = 10
      region     = "ap-guangzhou"
      legacy_api = true
    }
    next = {
      log_level = "info"
      pool_size = 20
      region    = "ap-guangzhou"
      tracing   = { enabled = true, sample_rate = 0.1 }
    }
  }
}
