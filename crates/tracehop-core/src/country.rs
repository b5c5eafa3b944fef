//! ISO 3166-1 countries, and which of them are U.S. jurisdictions for the foreign flag.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

/// U.S. states and the territories under FCC jurisdiction: a provider here is not foreign.
const US_JURISDICTIONS: [&str; 7] = ["US", "PR", "GU", "VI", "AS", "MP", "UM"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 3166-1 country code or name")]
pub struct UnknownCountry(pub String);

impl Country {
    pub const US: Self = Self(*b"US");
    /// ISO 3166-1's user-assigned code for an unknown territory: a source named a country no one
    /// recognises. Counted as foreign.
    pub const UNKNOWN: Self = Self(*b"ZZ");

    /// Accepts an alpha-2 or alpha-3 code, or a country's name or common alias in any case and
    /// spacing ("United States of America", "germany", "MEX").
    pub fn parse(text: &str) -> Result<Self, UnknownCountry> {
        let trimmed = text.trim();
        let key: String = trimmed.chars().filter(|c| c.is_alphanumeric()).collect();
        let key = key.strip_prefix("The").or_else(|| key.strip_prefix("the")).unwrap_or(&key);
        let found = celes::Country::from_str(key)
            .or_else(|_| celes::Country::from_alias(key))
            .or_else(|_| celes::Country::from_name(key));
        match found {
            Ok(country) => {
                let bytes = country.alpha2.as_bytes();
                Ok(Self([bytes[0], bytes[1]]))
            }
            Err(_) => Err(UnknownCountry(trimmed.to_owned())),
        }
    }

    pub fn code(&self) -> &str {
        // Always two ASCII upper-case letters, by construction.
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }

    /// The country's English name.
    pub fn name(&self) -> &'static str {
        celes::Country::from_alpha2(self.code()).map_or("Unknown", |c| c.long_name)
    }

    /// Reads a stored code, which may be [`Country::UNKNOWN`].
    pub fn from_code(code: &str) -> Result<Self, UnknownCountry> {
        if code == "ZZ" { Ok(Self::UNKNOWN) } else { Self::parse(code) }
    }

    /// Whether a provider based here counts as foreign: outside the U.S. and its territories.
    pub fn is_foreign(&self) -> bool {
        !US_JURISDICTIONS.contains(&self.code())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Country {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 3166-1 alpha-2 country code; input also accepts alpha-3 codes and English names"))
            .examples([serde_json::json!("US")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Country {}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<String> for Country {
    type Error = UnknownCountry;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_code(&text)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> Self {
        country.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_names() {
        for (text, code) in [
            ("US", "US"),
            ("us", "US"),
            ("USA", "US"),
            ("United States of America", "US"),
            ("United States", "US"),
            ("Germany", "DE"),
            ("Mexico", "MX"),
            ("GB", "GB"),
            ("United Kingdom", "GB"),
            ("CO", "CO"),
            ("Puerto Rico", "PR"),
        ] {
            assert_eq!(Country::parse(text).map(|c| c.to_string()), Ok(code.to_owned()), "{text}");
        }
        assert!(Country::parse("Atlantis").is_err());
        assert!(Country::parse("").is_err());
    }

    #[test]
    fn territories_are_not_foreign() {
        assert!(!Country::US.is_foreign());
        assert!(!Country::parse("PR").unwrap().is_foreign());
        assert!(!Country::parse("GU").unwrap().is_foreign());
        assert!(Country::parse("CA").unwrap().is_foreign());
        assert!(Country::parse("MX").unwrap().is_foreign());
    }
}
