//! Where tracebacks come from (SPEC §2, Art. III): the sources of candidates, the due diligence
//! staff record before one starts, and its legal basis under 47 U.S.C. § 222(d)(2).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::traceback::Category;

/// Who brought a candidate (SRC-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    AnalyticsProvider,
    FederalEnforcement,
    StateEnforcement,
    /// A foreign law-enforcement request: calls terminating outside the U.S. (SRC-4).
    ForeignEnforcement,
    SteeringMember,
    CommunityReferral,
    /// An organisation subject to abusive calling (a fee may apply).
    Organization,
}

pub const SOURCE_KINDS: [SourceKind; 7] = [
    SourceKind::AnalyticsProvider,
    SourceKind::FederalEnforcement,
    SourceKind::StateEnforcement,
    SourceKind::ForeignEnforcement,
    SourceKind::SteeringMember,
    SourceKind::CommunityReferral,
    SourceKind::Organization,
];

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::AnalyticsProvider => "analytics_provider",
            Self::FederalEnforcement => "federal_enforcement",
            Self::StateEnforcement => "state_enforcement",
            Self::ForeignEnforcement => "foreign_enforcement",
            Self::SteeringMember => "steering_member",
            Self::CommunityReferral => "community_referral",
            Self::Organization => "organization",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        SOURCE_KINDS.into_iter().find(|kind| kind.name() == text)
    }

    /// Foreign law-enforcement requests are a category of their own everywhere (SRC-4).
    pub fn category(self) -> Category {
        if self == Self::ForeignEnforcement { Category::ForeignLawEnforcement } else { Category::Domestic }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What staff judged the traffic to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    Fraudulent,
    Abusive,
    Unlawful,
}

/// The legal basis under 47 U.S.C. § 222(d)(2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// To protect the rights or property of voice service providers.
    ProtectProviders,
    /// To protect users and providers from fraudulent, abusive or unlawful use.
    ProtectUsers,
    /// With the approval of the customer who received the traffic.
    CustomerApproval,
}

/// The due diligence of SRC-2, as staff record it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct DueDiligence {
    /// The source is credible.
    pub credible_source: bool,
    /// What it says can be verified.
    pub verifiable: bool,
    pub nature: Option<Nature>,
    /// Why the traffic is judged so.
    pub nature_note: Option<String>,
    /// The burden on providers and the consortium is balanced against the expected impact.
    pub burden_balanced: bool,
    pub burden_note: Option<String>,
}

/// What keeps a candidate from approval: (field, problem) for each unmet condition of SRC-2.
pub fn approval_problems(diligence: &DueDiligence, basis: Option<LegalBasis>) -> Vec<(&'static str, &'static str)> {
    let blank = |text: &Option<String>| text.as_deref().is_none_or(|t| t.trim().is_empty());
    let mut problems = Vec::new();
    if !diligence.credible_source {
        problems.push(("due_diligence.credible_source", "the source must be credible"));
    }
    if !diligence.verifiable {
        problems.push(("due_diligence.verifiable", "the information must be verifiable"));
    }
    if diligence.nature.is_none() {
        problems.push(("due_diligence.nature", "say whether the traffic is fraudulent, abusive or unlawful"));
    }
    if blank(&diligence.nature_note) {
        problems.push(("due_diligence.nature_note", "say why"));
    }
    if !diligence.burden_balanced {
        problems.push(("due_diligence.burden_balanced", "the burden must be balanced against the expected impact"));
    }
    if basis.is_none() {
        problems.push(("legal_basis", "a legal basis under 47 U.S.C. 222(d)(2) is required"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_needs_every_condition_of_src_2() {
        let complete = DueDiligence {
            credible_source: true,
            verifiable: true,
            nature: Some(Nature::Fraudulent),
            nature_note: Some("IRS impersonation in the transcript".into()),
            burden_balanced: true,
            burden_note: None,
        };
        assert!(approval_problems(&complete, Some(LegalBasis::ProtectUsers)).is_empty());
        let fields = |d: &DueDiligence, b| approval_problems(d, b).into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(fields(&complete, None), ["legal_basis"]);
        assert_eq!(
            fields(
                &DueDiligence { nature_note: Some("  ".into()), ..complete.clone() },
                Some(LegalBasis::ProtectUsers)
            ),
            ["due_diligence.nature_note"]
        );
        assert_eq!(fields(&DueDiligence::default(), Some(LegalBasis::CustomerApproval)).len(), 5);
    }

    #[test]
    fn foreign_enforcement_requests_are_their_own_category() {
        for kind in SOURCE_KINDS {
            let expected = if kind == SourceKind::ForeignEnforcement {
                Category::ForeignLawEnforcement
            } else {
                Category::Domestic
            };
            assert_eq!(kind.category(), expected);
            assert_eq!(SourceKind::parse(kind.name()), Some(kind));
        }
    }
}
