//! Database URLs: `sqlite://PATH`, `sqlite::memory:`, `postgres://…`; and redaction of passwords
//! wherever a URL may be shown.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::StoreError;

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: PathBuf },
    SqliteMemory,
    Postgres { url: url::Url },
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if matches!(text, "sqlite::memory:" | "sqlite://:memory:" | "sqlite:memory") {
            return Ok(Self::SqliteMemory);
        }
        if let Some(path) = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(StoreError::Url("sqlite:// needs a file path, e.g. sqlite://./tracehop.db".into()));
            }
            return Ok(Self::Sqlite { path: PathBuf::from(path) });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = url::Url::parse(text).map_err(|e| StoreError::Url(format!("{}: {e}", redact(text))))?;
            return Ok(Self::Postgres { url });
        }
        Err(StoreError::Url(format!("{}: expected sqlite://PATH, sqlite::memory: or postgres://…", redact(text))))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            Self::SqliteMemory => f.write_str("sqlite::memory:"),
            Self::Postgres { url } => f.write_str(&redact(url.as_str())),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces the password of every `scheme://user:password@` in `text` with `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ', '"', '\'']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            "sqlite://./data/th.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite { path: "./data/th.db".into() }
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<DatabaseUrl>().unwrap(),
            DatabaseUrl::Sqlite { path: "/tmp/x.db".into() }
        );
        assert_eq!("sqlite::memory:".parse::<DatabaseUrl>().unwrap(), DatabaseUrl::SqliteMemory);
        assert!(matches!("postgres://u:p@localhost/db".parse::<DatabaseUrl>().unwrap(), DatabaseUrl::Postgres { .. }));
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url: DatabaseUrl = "postgres://alice:s3cret@db.example:5432/tracehop".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://alice:***@db.example:5432/tracehop");
        assert_eq!(
            redact("error connecting to postgres://bob:hunter2@h/x: refused; also postgres://h/y"),
            "error connecting to postgres://bob:***@h/x: refused; also postgres://h/y"
        );
        let error = "mysql://root:pw@x".parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(!error.contains("pw@"), "{error}");
    }
}
