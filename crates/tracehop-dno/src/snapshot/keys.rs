//! Ed25519 keys as text: 64 hexadecimal digits (32 bytes), optionally prefixed `ed25519:`.
//! A signing key file holds the 32-byte secret seed; a public key file the 32-byte key.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::FormatError;

fn bytes32(text: &str) -> Result<[u8; 32], FormatError> {
    let text = text.trim();
    let text = text.strip_prefix("ed25519:").unwrap_or(text);
    if text.len() != 64 {
        return Err(FormatError::Key(format!("expected 64 hexadecimal digits, found {} characters", text.len())));
    }
    let mut out = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).map_err(|_| FormatError::Key("not hexadecimal".into()))?;
        out[i] = u8::from_str_radix(pair, 16).map_err(|_| FormatError::Key("not hexadecimal".into()))?;
    }
    Ok(out)
}

/// Reads a public key.
pub fn public_key(text: &str) -> Result<VerifyingKey, FormatError> {
    VerifyingKey::from_bytes(&bytes32(text)?).map_err(|_| FormatError::Key("not a valid Ed25519 public key".into()))
}

/// Reads a signing key (the secret seed).
pub fn signing_key(text: &str) -> Result<SigningKey, FormatError> {
    Ok(SigningKey::from_bytes(&bytes32(text)?))
}

/// Writes a public key as published: `ed25519:` and 64 hexadecimal digits.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", hex(key.as_bytes()))
}

/// Writes a signing key's seed as 64 hexadecimal digits.
pub fn signing_key_text(key: &SigningKey) -> String {
    hex(&key.to_bytes())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let seed = signing_key_text(&key);
        assert_eq!(signing_key(&seed).unwrap().to_bytes(), key.to_bytes());
        let public = public_key_text(&key.verifying_key());
        assert!(public.starts_with("ed25519:"));
        assert_eq!(public_key(&public).unwrap(), key.verifying_key());
        assert_eq!(public_key(&format!("  {}\n", &public[8..])).unwrap(), key.verifying_key());
        assert!(public_key("abc").is_err());
        assert!(public_key(&"zz".repeat(32)).is_err());
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
        assert_eq!(unhex("0g"), None);
    }
}
