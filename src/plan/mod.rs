//! The plan: refresh live state and diff it against the configuration, without revealing secrets.
