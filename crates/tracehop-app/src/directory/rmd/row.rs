//! One filing of the export, read from its fields and checked.

use jiff::civil::Date;
use serde_json::{Value, json};
use tracehop_core::country::Country;
use tracehop_core::number::PhoneNumber;
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, IdentifierKind};

use super::COLUMNS;

/// A filing, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RmdRow {
    pub line: u64,
    pub rmd: String,
    /// Its FRNs, ten digits each: the main one first (when it has one), then the others.
    pub frns: Vec<String>,
    pub main_frn: Option<String>,
    pub name: String,
    pub country: Country,
    pub foreign: bool,
    /// `Rmd` when the filing says, `Country` when its flag is blank.
    pub foreign_source: ForeignSource,
    pub last_updated: Option<Date>,
    /// Everything the row says, as stored under `details.rmd`.
    pub record: Value,
    pub contact: Option<Contact>,
    /// What the row said that was left out.
    pub notes: Vec<String>,
}

/// Reads bytes as UTF-8, or as Windows-1252 when they are not.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// `none`, `n/a` and blanks mean nothing.
fn meaningful(text: &str) -> Option<String> {
    let text = text.trim();
    let empty =
        text.is_empty() || ["none", "n/a", "na", "null", "-", "(none)"].iter().any(|p| text.eq_ignore_ascii_case(p));
    (!empty).then(|| text.to_owned())
}

/// Corporate suffixes, lower-case without dots or spaces: `Acme, L.L.C.` is one name.
const SUFFIXES: [&str; 22] = [
    "llc",
    "inc",
    "lp",
    "ltd",
    "corp",
    "llp",
    "co",
    "lllp",
    "pllc",
    "plc",
    "pc",
    "corporation",
    "incorporated",
    "company",
    "limited",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "bv",
    "nv",
    "sadecv",
];

fn is_suffix(part: &str) -> bool {
    let key: String = part.chars().filter(|c| !matches!(c, '.' | ' ')).collect::<String>().to_ascii_lowercase();
    SUFFIXES.contains(&key.as_str())
}

/// Names in a DBA column: split on `;`, line breaks and commas, but a comma before a corporate
/// suffix (`Acme Voice, LLC`) stays inside the name.
pub(super) fn names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for piece in text.split([';', '\n', '\r']) {
        let mut current: Vec<String> = Vec::new();
        for part in piece.split(',') {
            let part = part.trim().trim_matches('"').trim();
            if part.is_empty() {
                continue;
            }
            match current.last_mut() {
                Some(last) if is_suffix(part) => {
                    last.push_str(", ");
                    last.push_str(part);
                }
                _ => current.push(part.to_owned()),
            }
        }
        names.extend(current.into_iter().filter_map(|name| meaningful(&name)));
    }
    names
}

/// FRNs in a column: the text between runs of separators (commas, semicolons, whitespace,
/// slashes), kept when it is 1–10 digits, as ten. Returns them and the rest of the text, which is
/// not an FRN.
pub(super) fn frns(text: &str) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    let mut other = Vec::new();
    if meaningful(text).is_none() {
        return (found, other);
    }
    for token in text.split(|c: char| matches!(c, ',' | ';' | '/') || c.is_whitespace()) {
        let token = token.trim_matches('"');
        if token.is_empty() {
            continue;
        }
        if token.len() <= 10 && token.chars().all(|c| c.is_ascii_digit()) {
            let frn = IdentifierKind::Frn.normalise(token);
            if !found.contains(&frn) {
                found.push(frn);
            }
        } else {
            other.push(token.to_owned());
        }
    }
    (found, other)
}

fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Some(true),
        "no" | "n" | "false" => Some(false),
        _ => None,
    }
}

fn implementation(text: &str) -> &'static str {
    let lower = text.trim().to_ascii_lowercase();
    if lower.starts_with("complete") || lower == "yes" {
        "complete"
    } else if lower.starts_with("partial") {
        "partial"
    } else if lower.starts_with("no") {
        "none"
    } else {
        "unknown"
    }
}

/// `2025-03-14`, `2025-03-14 10:00:00`, `2025-03-14T10:00:00Z` or `3/14/2025`; `None` if blank.
fn last_updated(text: &str) -> Result<Option<Date>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let impossible = || format!("last_updated {text:?} is not a date");
    let day = text.split(['T', ' ']).next().unwrap_or(text);
    let (year, month, date) = if let Some((m, rest)) = day.split_once('/') {
        let (d, y) = rest.split_once('/').ok_or_else(impossible)?;
        (y, m, d)
    } else {
        let mut parts = day.splitn(3, '-');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    };
    let number = |s: &str| s.trim().parse::<i16>().map_err(|_| impossible());
    let (year, month, date) = (number(year)?, number(month)?, number(date)?);
    let month = i8::try_from(month).map_err(|_| impossible())?;
    let date = i8::try_from(date).map_err(|_| impossible())?;
    if !(1900..=2200).contains(&year) {
        return Err(impossible());
    }
    Date::new(year, month, date).map(Some).map_err(|_| impossible())
}

/// Where each of [`COLUMNS`] is in the file: exports have changed their column order before,
/// so columns are found by name; columns the platform does not use are skipped.
pub(super) struct Layout {
    positions: [usize; COLUMNS.len()],
    pub width: usize,
}

impl Layout {
    pub fn of(header: &[String]) -> Result<Self, String> {
        let header: Vec<String> = header
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase().replace([' ', '-'], "_"))
            .collect();
        let mut positions = [0; COLUMNS.len()];
        let mut missing = Vec::new();
        for (slot, column) in positions.iter_mut().zip(COLUMNS) {
            let mut found = header.iter().enumerate().filter(|(_, h)| *h == column).map(|(i, _)| i);
            match (found.next(), found.next()) {
                (Some(at), None) => *slot = at,
                (Some(_), Some(_)) => return Err(format!("the header names {column} twice")),
                (None, _) => missing.push(column),
            }
        }
        if missing.is_empty() {
            Ok(Self { positions, width: header.len() })
        } else {
            Err(format!("the header lacks {}", missing.join(", ")))
        }
    }
}

/// The foreign flag: the filing's Yes or No, or when blank what its country says.
fn foreign_flag(flag: &str, country: Option<Country>, country_text: &str) -> Result<(bool, ForeignSource), String> {
    if flag.trim().is_empty() {
        return match country {
            Some(country) => Ok((country.is_foreign(), ForeignSource::Country)),
            None => Err(format!(
                "foreign_voice_provider is blank and country {:?} names no country to tell from",
                country_text.trim()
            )),
        };
    }
    yes_no(flag)
        .map(|foreign| (foreign, ForeignSource::Rmd))
        .ok_or_else(|| format!("foreign_voice_provider {:?} is neither Yes nor No", flag.trim()))
}

/// Reads one record. A row fails when it has no RMD number, an impossible date, a foreign flag
/// other than Yes, No or blank (or blank with no country), or the wrong number of columns.
pub(super) fn read_row(line: u64, fields: &[String], layout: &Layout) -> Result<RmdRow, String> {
    if fields.len() != layout.width {
        return Err(format!("expected {} columns, found {}", layout.width, fields.len()));
    }
    let field =
        |name: &str| COLUMNS.iter().position(|c| *c == name).map_or("", |i| fields[layout.positions[i]].as_str());
    let rmd = meaningful(field("number")).ok_or("no RMD number")?.to_ascii_uppercase();
    let parsed_country = Country::parse(field("country")).ok();
    let (foreign, foreign_source) = foreign_flag(field("foreign_voice_provider"), parsed_country, field("country"))?;
    let updated = last_updated(field("last_updated"))?;
    let country = parsed_country.unwrap_or(if foreign { Country::UNKNOWN } else { Country::US });
    let mut notes = Vec::new();
    let (main, main_rest) = frns(field("frn"));
    let (others, others_rest) = frns(field("other_frns"));
    for (column, rest) in [("frn", main_rest), ("other_frns", others_rest)] {
        if !rest.is_empty() {
            notes.push(format!("{column}: {:?} is not an FRN; ignored", rest.join(" ")));
        }
    }
    let main_frn = main.first().cloned();
    let mut all: Vec<String> = main;
    for frn in others {
        if !all.contains(&frn) {
            all.push(frn);
        }
    }
    let name = meaningful(field("business_name")).unwrap_or_else(|| rmd.clone());
    let phone_text = field("contact_telephone_number").trim().trim_start_matches('\'').to_owned();
    let phone = meaningful(&phone_text).map(|raw| PhoneNumber::parse(&raw));
    let extension = meaningful(field("contact_phone_extension"));
    let contact_name = meaningful(field("robocall_mitigation_contact_name"));
    let role = |name: &str| yes_no(field(name)).unwrap_or(false);
    let record = json!({
        "number": rmd,
        "frn": main_frn,
        "business_name": meaningful(field("business_name")),
        "business_address": meaningful(field("business_address")),
        "foreign_voice_provider": (foreign_source == ForeignSource::Rmd).then_some(foreign),
        "country": meaningful(field("country")),
        "other_frns": all.iter().skip(usize::from(main_frn.is_some())).collect::<Vec<_>>(),
        "other_dba_names": names(field("other_dba_names")),
        "previous_dba_names": names(field("previous_dba_names")),
        "contact": {
            "name": contact_name,
            "title": meaningful(field("contact_title")),
            "department": meaningful(field("contact_department")),
            "business_address": meaningful(field("contact_business_address")),
            "country": meaningful(field("contact_country")),
            "telephone": phone,
            "extension": extension,
        },
        "implementation": implementation(field("implementation")),
        "implementation_as_filed": meaningful(field("implementation")),
        "roles": {
            "voice_service_provider": role("voice_service_provider_choice"),
            "gateway_provider": role("gateway_provider_choice"),
            "intermediate_provider": role("intermediate_provider_choice"),
        },
        "last_updated": updated.map(|d| d.to_string()),
        "filing_url": meaningful(field("filing_url")),
    });
    let contact = contact_name.map(|name| Contact {
        role: ContactRole::Primary,
        name,
        title: meaningful(field("contact_title")),
        email: None,
        phone: meaningful(&phone_text).map(|p| match &extension {
            Some(ext) => format!("{p} ext. {ext}"),
            None => p,
        }),
        business_hours: None,
    });
    Ok(RmdRow {
        line,
        rmd,
        frns: all,
        main_frn,
        name,
        country,
        foreign,
        foreign_source,
        last_updated: updated,
        record,
        contact,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_shapes_exports_use() {
        assert_eq!(last_updated("2025-03-14"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated("2025-03-14 10:22:01"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated("3/14/2025"), Ok(Some(jiff::civil::date(2025, 3, 14))));
        assert_eq!(last_updated(""), Ok(None));
        for bad in ["2024-13-45", "2025-02-30", "yesterday", "14/03/2025"] {
            assert!(last_updated(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_1252_where_utf8_fails() {
        assert_eq!(decode("Jürgen".as_bytes()), "Jürgen");
        assert_eq!(decode(b"J\xfcrgen \x93quoted\x94"), "Jürgen “quoted”");
    }

    #[test]
    fn both_spellings_of_implementation() {
        for (text, expected) in [
            ("Complete STIR/SHAKEN Implementation", "complete"),
            ("Yes", "complete"),
            ("Partial STIR/SHAKEN Implementation - Performing Robocall Mitigation", "partial"),
            ("Partial", "partial"),
            ("No STIR/SHAKEN Implementation - Performing Robocall Mitigation", "none"),
            ("No", "none"),
        ] {
            assert_eq!(implementation(text), expected, "{text}");
        }
    }

    #[test]
    fn frns_split_on_any_run_of_separators_and_only_digits_count() {
        let (found, rest) = frns("0003291192 0003766532  0004122032");
        assert_eq!(found, ["0003291192", "0003766532", "0004122032"]);
        assert!(rest.is_empty());
        let (found, _) = frns("31000002,; 0031000003 / 4\t0031000003");
        assert_eq!(found, ["0031000002", "0031000003", "0000000004"]);
        for free in ["see list in attached RMP", "(No FRN)", "12345678901", "0031-000-003"] {
            let (found, rest) = frns(free);
            assert!(found.is_empty() && !rest.is_empty(), "{free}");
        }
        assert_eq!(frns("none"), (vec![], vec![]));
        assert_eq!(frns("FRN 0031000003").0, ["0031000003"]);
    }

    #[test]
    fn dba_names_keep_their_corporate_suffix() {
        assert_eq!(names("AtLink Services, LLC"), ["AtLink Services, LLC"]);
        assert_eq!(names("\"Bigwire\", BW Voice"), ["Bigwire", "BW Voice"]);
        assert_eq!(
            names("Acme Co., Inc.; Beta Voice, L.P.\nGamma, ltd, Delta Corp."),
            ["Acme Co., Inc.", "Beta Voice, L.P.", "Gamma, ltd", "Delta Corp."]
        );
        assert_eq!(
            names("Acme Voice, Acme Telecom, LLC, Acme Cable Co"),
            ["Acme Voice", "Acme Telecom, LLC", "Acme Cable Co"]
        );
        assert!(names("none").is_empty());
    }

    #[test]
    fn a_blank_foreign_flag_follows_the_country() {
        let us = Country::parse("United States").ok();
        assert_eq!(foreign_flag("", us, "United States"), Ok((false, ForeignSource::Country)));
        assert_eq!(foreign_flag(" ", Country::parse("US").ok(), "US"), Ok((false, ForeignSource::Country)));
        assert_eq!(foreign_flag("", Country::parse("Germany").ok(), "Germany"), Ok((true, ForeignSource::Country)));
        assert!(foreign_flag("", None, "").is_err());
        assert_eq!(foreign_flag("Yes", us, "United States"), Ok((true, ForeignSource::Rmd)));
        assert!(foreign_flag("Maybe", us, "United States").is_err());
    }
}
