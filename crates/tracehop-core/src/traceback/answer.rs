//! What a provider answers to its hop request (TB-2).

use serde::{Deserialize, Serialize};

use super::ProviderRef;
use crate::country::Country;
use crate::provider::ProviderProfile;

/// Longest free text accepted in any answer field, comment or reason.
pub const MAX_TEXT: usize = 10_000;

/// An answer as a provider gives it, with the named upstream already looked up in the directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The call came from `upstream`. `supplied` holds the contact details the provider gave when
    /// the upstream was not yet known (an `upstream_new` answer, PRV-5).
    Upstream { upstream: ProviderProfile, evidence: Evidence, supplied: Option<SuppliedContact> },
    /// Its own customer originated the call.
    Originated {
        customer: Customer,
        mitigation: Option<Mitigation>,
        attestation: Option<Attestation>,
        right_to_use: Option<String>,
    },
    /// It cannot find the call, or the call was wrongly attributed to it.
    NotFound { reason: NotFoundReason, explanation: Option<String> },
}

/// An answer as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Upstream {
        upstream: ProviderRef,
        #[serde(default)]
        evidence: Evidence,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supplied: Option<SuppliedContact>,
    },
    Originated {
        customer: Customer,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mitigation: Option<Mitigation>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attestation: Option<Attestation>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        right_to_use: Option<String>,
    },
    NotFound {
        reason: NotFoundReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
    },
}

impl Answer {
    /// The answer kind as the API and scenario files spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Upstream { supplied: Some(_), .. } => "upstream_new",
            Self::Upstream { .. } => "upstream",
            Self::Originated { .. } => "originated",
            Self::NotFound { .. } => "not_found",
        }
    }
}

/// What the provider saw of the call on its ingress (TB-2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_trunk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_received: Option<Attestation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verstat: Option<String>,
}

/// Contact details for an upstream the platform does not know yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppliedContact {
    pub provider_name: String,
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The originating customer (Best Practice 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// For commercial customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_nature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mitigation {
    pub action: MitigationAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MitigationAction {
    Terminated,
    Warned,
    Other,
}

/// A STIR/SHAKEN attestation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Attestation {
    A,
    B,
    C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotFoundReason {
    /// No record of the call.
    NotInRecords,
    /// The call was wrongly attributed to this provider.
    NotOurCall,
}
