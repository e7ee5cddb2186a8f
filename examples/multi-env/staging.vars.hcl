env       = "staging"
region    = "ap-guangzhou"
log_level = "debug"
replicas  = 2
