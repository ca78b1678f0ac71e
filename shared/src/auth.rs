//! Credentials: strict JWT verification for sellers and operators, visitor identification tokens,
//! private app tokens. The algorithm is pinned by configuration (never taken from the token), the
//! key is chosen by `kid`, and `exp`/`iss`/`aud`/`token_use` are required.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};

pub const SCOPE_SELLER_READ: &str = "services:conversations-seller:read";
pub const SCOPE_SELLER_WRITE: &str = "services:conversations-seller:write";
pub const SCOPE_VISITOR_TOKENS: &str = "conversations.visitor_identification.tokens.create";

/// The development secret of local mode. Documented in the README; never used in Lambda mode.
pub const LOCAL_DEV_SECRET: &str = "balcao-local-development-secret-not-for-production";
pub const LOCAL_DEV_KID: &str = "local-dev";
pub const LOCAL_ISSUER: &str = "https://balcao.local";
pub const LOCAL_AUDIENCE: &str = "balcao";
pub const VISITOR_ISSUER: &str = "balcao-visitor-identification";
pub const VISITOR_AUDIENCE: &str = "balcao-chat-widget";
/// Identification tokens expire after 12 hours (seed `001_…`).
pub const VISITOR_TOKEN_TTL_MS: Millis = 12 * 60 * 60 * 1000;
pub const SESSION_ISSUER: &str = "balcao-session-manager";
pub const SESSION_AUDIENCE: &str = "balcao-store";
/// Sessions last a week; an impersonation inside one ends after a day.
pub const SESSION_TTL_MS: Millis = 7 * 24 * 60 * 60 * 1000;
/// Clock skew tolerated on `exp`/`nbf`.
const LEEWAY_S: i64 = 30;

/// Keys by `kid`, all for one pinned algorithm.
#[derive(Clone)]
pub struct KeySet {
    alg: Algorithm,
    keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("alg", &self.alg)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    pub fn hs256(keys: &[(&str, &[u8])]) -> KeySet {
        KeySet {
            alg: Algorithm::HS256,
            keys: keys
                .iter()
                .map(|(kid, secret)| (kid.to_string(), DecodingKey::from_secret(secret)))
                .collect(),
        }
    }

    /// From configuration: `alg` is `HS256`, `RS256` or `ES256`; each key is a secret (HS256) or a
    /// PEM public key.
    /// A set that verifies nothing (a function given no keys of this kind).
    pub fn none() -> KeySet {
        KeySet {
            alg: Algorithm::HS256,
            keys: HashMap::new(),
        }
    }

    pub fn from_config(alg: &str, keys: &HashMap<String, String>) -> Result<KeySet> {
        let bad = |m: String| Error::unexpected_msg(format!("JWT configuration: {m}"));
        let alg = match alg {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => return Err(bad(format!("unsupported algorithm {other}"))),
        };
        if keys.is_empty() {
            return Err(bad("no keys".into()));
        }
        let mut out = HashMap::new();
        for (kid, material) in keys {
            let key = match alg {
                Algorithm::HS256 => {
                    if material.len() < 32 {
                        return Err(bad(format!("HS256 secret {kid} is shorter than 32 bytes")));
                    }
                    DecodingKey::from_secret(material.as_bytes())
                }
                Algorithm::RS256 => DecodingKey::from_rsa_pem(material.as_bytes())
                    .map_err(|e| bad(format!("key {kid}: {e}")))?,
                _ => DecodingKey::from_ec_pem(material.as_bytes())
                    .map_err(|e| bad(format!("key {kid}: {e}")))?,
            };
            out.insert(kid.clone(), key);
        }
        Ok(KeySet { alg, keys: out })
    }

    fn key_for(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match kid {
            Some(kid) => self.keys.get(kid),
            // Without a kid only an unambiguous key set is usable.
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }
}

/// What every token we accept must carry besides its own claims.
#[derive(Debug, Deserialize)]
struct TimeClaims {
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

/// Verifies a JWT: header alg equals the pinned one, `kid` names a known key, signature, `iss`,
/// `aud`, `exp`/`nbf` against our clock, and `token_use`.
fn verify<T: DeserializeOwned>(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    audience: &str,
    token_use: &str,
    clock: &dyn Clock,
) -> Result<T> {
    let unauthorized = |m: &str| Error::Unauthorized(m.to_owned());
    if token.len() > 8192 {
        return Err(unauthorized("token too long"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed token"))?;
    if header.alg != keys.alg {
        return Err(unauthorized("token algorithm not accepted"));
    }
    let key = keys
        .key_for(header.kid.as_deref())
        .ok_or_else(|| unauthorized("unknown signing key"))?;
    let mut v = Validation::new(keys.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Time is checked below against the injectable clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(token, key, &v)
        .map_err(|_| unauthorized("invalid token"))?;
    let times: TimeClaims = serde_json::from_value(data.claims.clone())
        .map_err(|_| unauthorized("invalid token time claims"))?;
    let now_s = clock.now_ms() / 1000;
    if times.exp + LEEWAY_S <= now_s {
        return Err(unauthorized("token expired"));
    }
    if times.nbf.is_some_and(|nbf| nbf - LEEWAY_S > now_s) {
        return Err(unauthorized("token not yet valid"));
    }
    if data.claims.get("token_use").and_then(|v| v.as_str()) != Some(token_use) {
        return Err(unauthorized("wrong kind of token"));
    }
    serde_json::from_value(data.claims).map_err(|_| unauthorized("invalid token claims"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SellerClaims {
    pub sub: String,
    pub account: String,
    pub seller_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A verified seller (integration or person).
#[derive(Debug, Clone)]
pub struct SellerPrincipal {
    pub sub: String,
    pub account: String,
    pub seller_id: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
}

impl SellerPrincipal {
    pub fn require(&self, scope: &str) -> Result<()> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Error::MissingScopes(vec![scope.to_owned()]))
        }
    }
}

/// The claims of a visitor identification token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitorClaims {
    pub sub: String,
    pub account: String,
    pub email: String,
    pub jti: String,
}

/// Everything the service needs to check and issue credentials.
#[derive(Clone)]
pub struct Auth {
    pub seller_keys: KeySet,
    pub issuer: String,
    pub audience: String,
    /// Identification tokens are ours alone: HS256, active kid plus older ones for rotation.
    pub visitor_keys: KeySet,
    pub visitor_signing: (String, Arc<EncodingKey>),
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("seller_keys", &self.seller_keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Local mode: HS256 with the documented development secret for everything.
    pub fn local(clock: Arc<dyn Clock>) -> Auth {
        Auth {
            seller_keys: KeySet::hs256(&[(LOCAL_DEV_KID, LOCAL_DEV_SECRET.as_bytes())]),
            issuer: LOCAL_ISSUER.into(),
            audience: LOCAL_AUDIENCE.into(),
            visitor_keys: KeySet::hs256(&[(LOCAL_DEV_KID, LOCAL_DEV_SECRET.as_bytes())]),
            visitor_signing: (
                LOCAL_DEV_KID.into(),
                Arc::new(EncodingKey::from_secret(LOCAL_DEV_SECRET.as_bytes())),
            ),
            clock,
        }
    }

    pub fn verify_seller(&self, token: &str) -> Result<SellerPrincipal> {
        let c: SellerClaims = verify(
            token,
            &self.seller_keys,
            &self.issuer,
            &self.audience,
            "seller",
            self.clock.as_ref(),
        )?;
        if c.account.is_empty() || c.seller_id.is_empty() {
            return Err(Error::Unauthorized(
                "token names no account or seller".into(),
            ));
        }
        Ok(SellerPrincipal {
            sub: c.sub,
            account: c.account,
            seller_id: c.seller_id,
            name: c.name,
            scopes: c.scope.split_whitespace().map(str::to_owned).collect(),
        })
    }

    pub fn issue_visitor_token(
        &self,
        account: &str,
        contact_id: &str,
        email: &str,
    ) -> Result<String> {
        let now = self.clock.now_ms();
        #[derive(Serialize)]
        struct Full<'a> {
            iss: &'a str,
            aud: &'a str,
            sub: &'a str,
            account: &'a str,
            email: &'a str,
            token_use: &'a str,
            jti: String,
            iat: i64,
            exp: i64,
        }
        let claims = Full {
            iss: VISITOR_ISSUER,
            aud: VISITOR_AUDIENCE,
            sub: contact_id,
            account,
            email,
            token_use: "visitor",
            // Unique on every call, even for the same e-mail.
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now / 1000,
            exp: (now + VISITOR_TOKEN_TTL_MS) / 1000,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.visitor_signing.0.clone());
        jsonwebtoken::encode(&header, &claims, &self.visitor_signing.1).map_err(Error::unexpected)
    }

    /// An operator (store admin user): the token proves only who they are; what they may do is
    /// read from the store.
    pub fn verify_operator(&self, token: &str) -> Result<OperatorClaims> {
        let c: OperatorClaims = verify(
            token,
            &self.seller_keys,
            &self.issuer,
            &self.audience,
            "operator",
            self.clock.as_ref(),
        )?;
        if c.account.is_empty() || !c.sub.contains('@') {
            return Err(Error::Unauthorized(
                "token names no account or operator e-mail".into(),
            ));
        }
        Ok(c)
    }

    /// A session token: signed by us, carrying only the session id, valid as long as a session.
    pub fn issue_session_token(&self, session_id: &str) -> Result<String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            aud: &'a str,
            sub: &'a str,
            token_use: &'a str,
            exp: i64,
        }
        let claims = Claims {
            iss: SESSION_ISSUER,
            aud: SESSION_AUDIENCE,
            sub: session_id,
            token_use: "session",
            exp: (self.clock.now_ms() + SESSION_TTL_MS) / 1000,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.visitor_signing.0.clone());
        jsonwebtoken::encode(&header, &claims, &self.visitor_signing.1).map_err(Error::unexpected)
    }

    /// The session id a session token carries.
    pub fn verify_session(&self, token: &str) -> Result<String> {
        #[derive(Deserialize)]
        struct Claims {
            sub: String,
        }
        let c: Claims = verify(
            token,
            &self.visitor_keys,
            SESSION_ISSUER,
            SESSION_AUDIENCE,
            "session",
            self.clock.as_ref(),
        )?;
        Ok(c.sub)
    }

    pub fn verify_visitor(&self, token: &str) -> Result<VisitorClaims> {
        verify(
            token,
            &self.visitor_keys,
            VISITOR_ISSUER,
            VISITOR_AUDIENCE,
            "visitor",
            self.clock.as_ref(),
        )
    }
}

/// The claims of an operator token: `sub` is the operator's e-mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperatorClaims {
    pub sub: String,
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Signs operator tokens with an HS256 secret: the local stack's `mint-operator-token` and tests.
pub fn mint_operator_token(
    secret: &[u8],
    kid: &str,
    issuer: &str,
    audience: &str,
    claims: &OperatorClaims,
    exp_s: i64,
) -> Result<String> {
    mint_hs256(secret, kid, (issuer, audience), claims, "operator", exp_s)
}

/// Signs `claims` plus `iss`, `aud`, `exp` and `token_use` with an HS256 secret.
fn mint_hs256(
    secret: &[u8],
    kid: &str,
    (issuer, audience): (&str, &str),
    claims: &impl Serialize,
    token_use: &str,
    exp_s: i64,
) -> Result<String> {
    let mut value = serde_json::to_value(claims).map_err(Error::unexpected)?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("iss".into(), issuer.into());
        obj.insert("aud".into(), audience.into());
        obj.insert("exp".into(), exp_s.into());
        obj.insert("token_use".into(), token_use.into());
    }
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &value, &EncodingKey::from_secret(secret))
        .map_err(Error::unexpected)
}

/// Signs seller tokens with an HS256 secret: the local stack's `mint` command and the tests.
pub fn mint_seller_token(
    secret: &[u8],
    kid: &str,
    issuer: &str,
    audience: &str,
    claims: &SellerClaims,
    exp_s: i64,
) -> Result<String> {
    mint_hs256(secret, kid, (issuer, audience), claims, "seller", exp_s)
}

/// Signs a visitor identification token with an HS256 secret and a chosen expiry: the local
/// stack's `mint-visitor-token` command (for `events/`) and the tests.
pub fn mint_visitor_token(
    secret: &[u8],
    kid: &str,
    claims: &VisitorClaims,
    exp_s: i64,
) -> Result<String> {
    mint_hs256(
        secret,
        kid,
        (VISITOR_ISSUER, VISITOR_AUDIENCE),
        claims,
        "visitor",
        exp_s,
    )
}

/// Private app tokens are high-entropy, so a plain SHA-256 is the right hash to store.
pub fn hash_app_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn new_app_token() -> String {
    format!("pat-{}", crate::ids::random_hex(24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use base64::Engine;

    const NOW_MS: i64 = 1_800_000_000_000;

    fn auth() -> (Auth, ManualClock) {
        let clock = ManualClock::new(NOW_MS);
        (Auth::local(Arc::new(clock.clone())), clock)
    }

    fn claims() -> SellerClaims {
        SellerClaims {
            sub: "integration-1".into(),
            account: "lojademo".into(),
            seller_id: "seller-acme".into(),
            scope: format!("{SCOPE_SELLER_READ} {SCOPE_SELLER_WRITE}"),
            name: None,
        }
    }

    fn token(exp_s: i64) -> String {
        mint_seller_token(
            LOCAL_DEV_SECRET.as_bytes(),
            LOCAL_DEV_KID,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
            &claims(),
            exp_s,
        )
        .unwrap()
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn accepts_a_good_token_and_reads_scopes() {
        let (a, _) = auth();
        let p = a.verify_seller(&token(NOW_MS / 1000 + 600)).unwrap();
        assert_eq!(p.seller_id, "seller-acme");
        assert!(p.require(SCOPE_SELLER_WRITE).is_ok());
        assert!(matches!(p.require("other"), Err(Error::MissingScopes(_))));
    }

    #[test]
    fn rejects_expired_tokens_by_the_injected_clock() {
        let (a, clock) = auth();
        let t = token(NOW_MS / 1000 + 60);
        assert!(a.verify_seller(&t).is_ok());
        clock.advance(120_000);
        assert!(matches!(a.verify_seller(&t), Err(Error::Unauthorized(_))));
    }

    #[test]
    fn rejects_alg_none_and_unsigned_tokens() {
        let (a, _) = auth();
        let mut body = serde_json::to_value(claims()).unwrap();
        body["iss"] = LOCAL_ISSUER.into();
        body["aud"] = LOCAL_AUDIENCE.into();
        body["exp"] = (NOW_MS / 1000 + 600).into();
        body["token_use"] = "seller".into();
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg":"none","typ":"JWT"})),
            b64(&body)
        );
        assert!(a.verify_seller(&none).is_err());
    }

    #[test]
    fn rejects_a_string_exp() {
        let (a, _) = auth();
        let mut body = serde_json::to_value(claims()).unwrap();
        body["iss"] = LOCAL_ISSUER.into();
        body["aud"] = LOCAL_AUDIENCE.into();
        body["exp"] = "99999999999".into();
        body["token_use"] = "seller".into();
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(LOCAL_DEV_KID.into());
        let t = jsonwebtoken::encode(
            &h,
            &body,
            &EncodingKey::from_secret(LOCAL_DEV_SECRET.as_bytes()),
        )
        .unwrap();
        assert!(a.verify_seller(&t).is_err());
    }

    #[test]
    fn rejects_wrong_audience_issuer_kid_and_kind() {
        let (a, _) = auth();
        let exp = NOW_MS / 1000 + 600;
        let s = LOCAL_DEV_SECRET.as_bytes();
        let aud =
            mint_seller_token(s, LOCAL_DEV_KID, LOCAL_ISSUER, "other", &claims(), exp).unwrap();
        let iss = mint_seller_token(
            s,
            LOCAL_DEV_KID,
            "https://evil",
            LOCAL_AUDIENCE,
            &claims(),
            exp,
        )
        .unwrap();
        let kid = mint_seller_token(
            s,
            "rotated-out",
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
            &claims(),
            exp,
        )
        .unwrap();
        let sig = mint_seller_token(
            b"another-secret-another-secret-xx",
            LOCAL_DEV_KID,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
            &claims(),
            exp,
        )
        .unwrap();
        for t in [aud, iss, kid, sig] {
            assert!(matches!(a.verify_seller(&t), Err(Error::Unauthorized(_))));
        }
        // A visitor token is not a seller token, and the other way round.
        let v = a.issue_visitor_token("lojademo", "c1", "a@b.com").unwrap();
        assert!(a.verify_seller(&v).is_err());
        assert!(a.verify_visitor(&token(exp)).is_err());
    }

    #[test]
    fn visitor_tokens_are_unique_and_last_twelve_hours() {
        let (a, clock) = auth();
        let t1 = a.issue_visitor_token("lojademo", "c1", "a@b.com").unwrap();
        let t2 = a.issue_visitor_token("lojademo", "c1", "a@b.com").unwrap();
        assert_ne!(t1, t2);
        assert_eq!(a.verify_visitor(&t1).unwrap().email, "a@b.com");
        clock.advance(VISITOR_TOKEN_TTL_MS - 60_000);
        assert!(a.verify_visitor(&t1).is_ok());
        clock.advance(120_000);
        assert!(a.verify_visitor(&t1).is_err());
    }

    /// Lambda mode: asymmetric keys from configuration, chosen by kid, alg pinned.
    #[test]
    fn asymmetric_keys_from_configuration() {
        let clock = ManualClock::new(NOW_MS);
        let exp = NOW_MS / 1000 + 600;
        let mut body = serde_json::to_value(claims()).unwrap();
        body["iss"] = "https://id.example".into();
        body["aud"] = "balcao".into();
        body["exp"] = exp.into();
        body["token_use"] = "seller".into();
        let cases = [
            (
                "ES256",
                Algorithm::ES256,
                include_str!("../testdata/es256-test-public.pem"),
                EncodingKey::from_ec_pem(include_bytes!("../testdata/es256-test-private.pem"))
                    .unwrap(),
            ),
            (
                "RS256",
                Algorithm::RS256,
                include_str!("../testdata/rs256-test-public.pem"),
                EncodingKey::from_rsa_pem(include_bytes!("../testdata/rs256-test-private.pem"))
                    .unwrap(),
            ),
        ];
        for (name, alg, public, private) in cases {
            let keys =
                KeySet::from_config(name, &HashMap::from([("k1".to_owned(), public.to_owned())]))
                    .unwrap();
            let auth = Auth {
                seller_keys: keys,
                issuer: "https://id.example".into(),
                audience: "balcao".into(),
                ..Auth::local(Arc::new(clock.clone()))
            };
            let mut h = Header::new(alg);
            h.kid = Some("k1".into());
            let good = jsonwebtoken::encode(&h, &body, &private).unwrap();
            assert_eq!(
                auth.verify_seller(&good).unwrap().seller_id,
                "seller-acme",
                "{name}"
            );
            // Another kid, or an HS256 token signed with the public key as a secret (the
            // classic alg confusion), is refused.
            h.kid = Some("k2".into());
            assert!(auth
                .verify_seller(&jsonwebtoken::encode(&h, &body, &private).unwrap())
                .is_err());
            let mut hs = Header::new(Algorithm::HS256);
            hs.kid = Some("k1".into());
            let confused =
                jsonwebtoken::encode(&hs, &body, &EncodingKey::from_secret(public.as_bytes()))
                    .unwrap();
            assert!(auth.verify_seller(&confused).is_err(), "{name}");
        }
        // Bad configuration is an error at cold start, not a weak key.
        let short = HashMap::from([("k".to_owned(), "too-short".to_owned())]);
        assert!(KeySet::from_config("HS256", &short).is_err());
        assert!(KeySet::from_config("none", &short).is_err());
        assert!(KeySet::from_config("RS256", &short).is_err());
        assert!(KeySet::from_config("ES256", &HashMap::new()).is_err());
    }

    #[test]
    fn app_tokens_are_hashed() {
        let t = new_app_token();
        assert!(t.starts_with("pat-"));
        assert_eq!(hash_app_token(&t).len(), 64);
        assert_ne!(hash_app_token(&t), t);
    }
}
