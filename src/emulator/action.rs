//! The catalogue of SSM actions the emulator serves (docs/ssm-api.md#actions): the [`Action`] enum,
//! the API's name for each, and their documented rate limits (docs/ssm-api.md#rate-limits). What
//! each action does lives in [`super::handlers`].

use std::fmt;

/// One SSM API action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    UpdateSecret,
    GetSecretValue,
    PutSecretValue,
    CreateSecret,
    DescribeSecret,
    ListSecretVersionIds,
    ListSecrets,
    DeleteSecretVersion,
    EnableSecret,
    DisableSecret,
    RestoreSecret,
    DeleteSecret,
    UpdateDescription,
    GetServiceStatus,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::UpdateSecret,
        Action::GetSecretValue,
        Action::PutSecretValue,
        Action::CreateSecret,
        Action::DescribeSecret,
        Action::ListSecretVersionIds,
        Action::ListSecrets,
        Action::DeleteSecretVersion,
        Action::EnableSecret,
        Action::DisableSecret,
        Action::RestoreSecret,
        Action::DeleteSecret,
        Action::UpdateDescription,
        Action::GetServiceStatus,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::UpdateSecret => "UpdateSecret",
            Action::GetSecretValue => "GetSecretValue",
            Action::PutSecretValue => "PutSecretValue",
            Action::CreateSecret => "CreateSecret",
            Action::DescribeSecret => "DescribeSecret",
            Action::ListSecretVersionIds => "ListSecretVersionIds",
            Action::ListSecrets => "ListSecrets",
            Action::DeleteSecretVersion => "DeleteSecretVersion",
            Action::EnableSecret => "EnableSecret",
            Action::DisableSecret => "DisableSecret",
            Action::RestoreSecret => "RestoreSecret",
            Action::DeleteSecret => "DeleteSecret",
            Action::UpdateDescription => "UpdateDescription",
            Action::GetServiceStatus => "GetServiceStatus",
        }
    }

    /// The action named exactly `name` (action names are case-sensitive in the API).
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Position in [`Action::ALL`], for per-action tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Requests per second the API documents for this action (docs/ssm-api.md#rate-limits). Where
    /// the international and Chinese documentation disagree (DescribeSecret 40/100,
    /// ListSecretVersionIds 40/300) the lower figure is used: a client paced to pass here also
    /// passes against the real service.
    pub fn documented_limit(self) -> u32 {
        crate::ssm::rates::documented_limit(self.name())
            .expect("every emulated action has a documented limit")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_position() {
        for (i, a) in Action::ALL.into_iter().enumerate() {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(a.index(), i);
        }
        assert_eq!(Action::parse("getsecretvalue"), None);
    }
}
