env       = "prod"
region    = "ap-shanghai"
log_level = "warn"
replicas  = 6
