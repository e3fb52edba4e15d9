//! JSON Web Tokens as an OAuth token server issues them for the Zeebe gateway:
//! ES256 (ECDSA P-256, SHA-256), with the claims the gateway checks (`aud`,
//! `exp`, `sub`, `iss`, `scope`). Small on purpose: one algorithm, compact
//! serialisation, and verification errors that say which check failed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::HarnessError;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (the token server's URL).
    pub(crate) iss: String,
    /// Subject: the OAuth client id.
    pub(crate) sub: String,
    /// Audience the token was issued for.
    pub(crate) aud: String,
    /// Issued at (Unix seconds).
    pub(crate) iat: i64,
    /// Expiry (Unix seconds).
    pub(crate) exp: i64,
    /// Space-separated scopes.
    #[serde(default)]
    pub(crate) scope: String,
}

/// Why a token was refused, in words an audit record carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The signature does not verify with the gateway's key.
    #[error("signature does not verify with the trusted key (kid {0:?})")]
    BadSignature(String),
    /// `exp` is in the past (the expiry, RFC 3339).
    #[error("token expired at {0}")]
    Expired(String),
    /// `aud` is not the gateway's audience.
    #[error("audience {found:?} is not the expected {expected:?}")]
    WrongAudience {
        /// In the token.
        found: String,
        /// What the gateway wants.
        expected: String,
    },
}

/// The header, claims and signature parts of a compact JWT.
pub fn compact_parts(token: &str) -> Result<(&str, &str, &str), &'static str> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) => Ok((h, c, s)),
        _ => Err("not three dot-separated parts"),
    }
}

/// A base64url part of a JWT, decoded as JSON.
pub fn json_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    B64.decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// A signing key of a token server (the private half stays in memory and in
/// its 0600 file).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

/// The public half, what a gateway trusts.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    public: Vec<u8>,
    kid: String,
}

impl SigningKey {
    /// A fresh P-256 key called `kid`, with its PKCS#8 DER (for the key file).
    pub fn generate(kid: &str) -> Result<(Self, Vec<u8>), HarnessError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| HarnessError::run("token server", format!("key generation: {e}")))?;
        let der = pkcs8.as_ref().to_vec();
        Ok((Self::from_pkcs8(kid, &der)?, der))
    }

    /// A key from PKCS#8 DER (a P-256 EC key).
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, HarnessError> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(|e| {
                HarnessError::run("token server", format!("not a P-256 PKCS#8 key: {e}"))
            })?;
        Ok(Self {
            pair,
            kid: kid.to_string(),
        })
    }

    /// The key a gateway verifies with.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            public: self.pair.public_key().as_ref().to_vec(),
            kid: self.kid.clone(),
        }
    }

    /// A signed compact JWT.
    pub fn sign(&self, claims: &Claims) -> Result<String, HarnessError> {
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let body = serde_json::to_vec(claims).map_err(|e| HarnessError::run("token server", e))?;
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(body));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|e| HarnessError::run("token server", format!("signing: {e}")))?;
        Ok(format!("{input}.{}", B64.encode(sig.as_ref())))
    }
}

impl VerifyingKey {
    /// The key as a JWKS document (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        // Uncompressed point: 0x04 || x (32) || y (32).
        let (x, y) = self.public[1..].split_at(32);
        serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
            "kid": self.kid, "x": B64.encode(x), "y": B64.encode(y),
        }]})
    }

    /// Verifies signature, expiry (at `now`) and audience; returns the claims.
    pub fn verify(&self, token: &str, audience: &str, now: i64) -> Result<Claims, TokenError> {
        let malformed = |what: &str| TokenError::Malformed(what.to_string());
        let (h, c, s) = compact_parts(token).map_err(malformed)?;
        let header: serde_json::Value =
            json_part(h).ok_or_else(|| malformed("header is not base64url JSON"))?;
        let kid = header["kid"].as_str().unwrap_or_default().to_string();
        let sig = B64
            .decode(s)
            .map_err(|_| malformed("signature is not base64url"))?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| TokenError::BadSignature(kid))?;
        let claims: Claims = json_part(c).ok_or_else(|| {
            malformed("claims are not base64url JSON with iss, sub, aud, iat, exp")
        })?;
        if claims.exp <= now {
            let at = time::OffsetDateTime::from_unix_timestamp(claims.exp)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| claims.exp.to_string());
            return Err(TokenError::Expired(at));
        }
        if claims.aud != audience {
            return Err(TokenError::WrongAudience {
                found: claims.aud,
                expected: audience.to_string(),
            });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: &str, exp: i64) -> Claims {
        Claims {
            iss: "http://127.0.0.1:1/".into(),
            sub: "zeebe".into(),
            aud: aud.into(),
            iat: 0,
            exp,
            scope: String::new(),
        }
    }

    #[test]
    fn signs_and_checks_each_claim() {
        let (key, _) = SigningKey::generate("primary").unwrap();
        let (rogue, _) = SigningKey::generate("rogue").unwrap();
        let vk = key.verifying_key();
        let ok = key.sign(&claims("zeebe-api", 100)).unwrap();
        assert_eq!(vk.verify(&ok, "zeebe-api", 50).unwrap().sub, "zeebe");
        assert_eq!(
            vk.verify(&ok, "zeebe-api", 130),
            Err(TokenError::Expired("1970-01-01T00:01:40Z".into()))
        );
        assert!(matches!(
            vk.verify(&ok, "other", 50),
            Err(TokenError::WrongAudience { .. })
        ));
        let forged = rogue.sign(&claims("zeebe-api", 100)).unwrap();
        assert_eq!(
            vk.verify(&forged, "zeebe-api", 50),
            Err(TokenError::BadSignature("rogue".into()))
        );
        assert!(matches!(
            vk.verify("abc", "zeebe-api", 50),
            Err(TokenError::Malformed(_))
        ));
        assert_eq!(vk.jwks()["keys"][0]["crv"], "P-256");
    }
}
