//! Webhook pieces shared by the subscriptions API and the dispatcher: secrets and Standard
//! Webhooks signatures, the URL policy (the SSRF guard), and the delivery job.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::queue::WebhookEvent;

/// The event domains a subscription may ask for.
pub const DOMAINS: [&str; 2] = ["conversation", "message"];

/// Subscriptions one seller may hold.
pub const MAX_SUBSCRIPTIONS: usize = 10;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form).
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    crate::ids::fill_random(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// `webhook-signature` for a delivery: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
/// bytes, of `{id}.{timestamp}.{body}`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(Error::unexpected)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(Error::unexpected)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Which receiver addresses are acceptable. Lambda mode is strict; the local stack allows plain
/// HTTP and loopback so a newcomer can receive on their own machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    pub allow_http: bool,
    pub allow_loopback: bool,
}

impl UrlPolicy {
    pub const STRICT: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_loopback: false,
    };
    pub const LOCAL: UrlPolicy = UrlPolicy {
        allow_http: true,
        allow_loopback: true,
    };

    /// Checks a receiver URL the way the HTTP client will read it: WHATWG URL rules (the `url`
    /// crate, which reqwest uses), so every spelling of an address — trailing dots, shortened,
    /// octal, hex and decimal IPv4, IPv4-mapped IPv6 — is the address it connects to. Returns the
    /// parsed URL: deliveries send to exactly this. Host names are resolved and each address is
    /// checked again at every delivery.
    pub fn check_url(&self, raw: &str) -> std::result::Result<url::Url, String> {
        let url = url::Url::parse(raw.trim()).map_err(|_| "is not an absolute URL".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err("must use https".into()),
            _ => return Err("must be an https URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("may not carry credentials".into());
        }
        match url.host() {
            None => return Err("has no host".into()),
            Some(url::Host::Ipv4(ip)) => self.literal(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.literal(IpAddr::V6(ip))?,
            Some(url::Host::Domain(d)) => {
                let name = d.trim_end_matches('.').to_ascii_lowercase();
                if name.is_empty() {
                    return Err("has no host".into());
                }
                if (name == "localhost" || name.ends_with(".localhost")) && !self.allow_loopback {
                    return Err("points at this machine (localhost)".into());
                }
                if !name.contains('.') && name != "localhost" {
                    return Err("needs a fully qualified host name".into());
                }
            }
        }
        Ok(url)
    }

    fn literal(&self, ip: IpAddr) -> std::result::Result<(), String> {
        if self.ip_allowed(ip) {
            Ok(())
        } else {
            Err(format!("points at a reserved address ({ip})"))
        }
    }

    /// May a delivery connect to `ip`? Never to private, link-local (the instance metadata
    /// service among them), unspecified, multicast or reserved space; loopback only when allowed.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.v4_allowed(v4),
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return self.v4_allowed(v4);
                }
                let seg = v6.segments();
                // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
                if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                    let v4 = Ipv4Addr::from(((seg[6] as u32) << 16) | seg[7] as u32);
                    return self.v4_allowed(v4);
                }
                // 6to4 (2002::/16) carries one in bits 16..48.
                if seg[0] == 0x2002 {
                    let v4 = Ipv4Addr::from(((seg[1] as u32) << 16) | seg[2] as u32);
                    return self.v4_allowed(v4);
                }
                if v6 == Ipv6Addr::LOCALHOST {
                    return self.allow_loopback;
                }
                !(v6.is_unspecified()
                    || v6.is_multicast()
                    || (seg[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 among them)
                    || (seg[0] & 0xffc0) == 0xfe80 // link-local
                    || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                    || (seg[0] == 0x2001 && seg[1] == 0) // Teredo (an IPv4 tunnel)
                    || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64
                    || (seg[0] == 0x100 && seg[1..4] == [0, 0, 0]) // discard-only
                    || seg[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
            }
        }
    }

    fn v4_allowed(&self, ip: Ipv4Addr) -> bool {
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        let o = ip.octets();
        !(ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || ip.is_documentation()
            || o[0] == 0
            || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space (CGNAT)
            || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
            || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
            || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast
            || o[0] >= 240) // reserved
    }
}

/// One event for one subscription, on the deliveries queue. Re-queued with the next attempt
/// number while the receiver fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub subscription_id: String,
    /// Attempts made before this one.
    pub attempt: u32,
    pub event: WebhookEvent,
    /// Why the last attempt failed (kept on the dead-letter copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What the dispatcher's queues carry: events to fan out, deliveries to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Job {
    Delivery(Delivery),
    Event(WebhookEvent),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// Every spelling the HTTP client reads as a reserved address, refused however it is written
    /// (WHATWG host parsing: the address checked is the one connected to).
    pub const RESERVED_SPELLINGS: &[&str] = &[
        "https://10.0.0.7/h",
        "https://10.0.0.7./h",
        "https://10.7/h",
        "https://10.0.7/h",
        "https://167772167/h",
        "https://0xa000007/h",
        "https://0x0a.0x00.0x00.0x07/h",
        "https://012.0.0.07/h",
        "https://0x7f.1/h",
        "https://127.1/h",
        "https://127.0.0.1./h",
        "https://2130706433/h",
        "https://017700000001/h",
        "https://0x7f000001/h",
        "https://0177.0.0.1/h",
        "https://169.254.43518/latest",
        "https://169.254.169.254/latest/meta-data",
        "https://2852039166/latest",
        "https://0xa9fea9fe/latest",
        "https://0251.0376.0251.0376/latest",
        "https://169.254.169.254.:443/latest",
        "https://192.168.1/h",
        "https://3232235777/h",
        "https://172.16.1/h",
        "https://100.64.0.1/h",
        "https://0/h",
        "https://0.0.0.0/h",
        "https://224.0.0.1/h",
        "https://255.255.255.255/h",
        "https://240.0.0.1/h",
        "https://[::1]/h",
        "https://[0:0:0:0:0:0:0:1]/h",
        "https://[::ffff:127.0.0.1]/h",
        "https://[::ffff:7f00:1]/h",
        "https://[::ffff:a9fe:a9fe]/latest",
        "https://[::ffff:169.254.169.254]/latest",
        "https://[64:ff9b::a9fe:a9fe]/latest",
        "https://[2002:a9fe:a9fe::1]/latest",
        "https://[2002:7f00:1::]/h",
        "https://[fe80::1]/h",
        "https://[fd00:ec2::254]/latest",
        "https://[::]/h",
        "https://[::127.0.0.1]/h",
        "https://[2001:0::1]/h",
        "HTTPS://LOCALHOST/h",
        "https://localhost./h",
        "https://api.localhost/h",
        "https://%6c%6f%63%61%6c%68%6f%73%74/h",
        "https://%31%30.0.0.7/h",
        "https://１０.0.0.7/h",
        "https://user:pass@example.com/h",
        "https://example.com@10.0.0.7/h",
    ];

    #[test]
    fn every_spelling_of_a_reserved_address_is_refused() {
        assert!(RESERVED_SPELLINGS.len() >= 30);
        for raw in RESERVED_SPELLINGS {
            let got = UrlPolicy::STRICT.check_url(raw);
            assert!(got.is_err(), "{raw} should be refused, got {got:?}");
        }
        // The local stack allows loopback, but no other reserved address in any spelling.
        for raw in [
            "http://10.0.0.7./h",
            "http://10.7/h",
            "http://167772167/h",
            "http://169.254.43518/latest",
            "http://0xa9fea9fe/latest",
            "http://[::ffff:a9fe:a9fe]/latest",
            "http://[2002:a9fe:a9fe::1]/latest",
            "http://192.168.1/h",
            "http://[fd00:ec2::254]/latest",
            "http://example.com@10.0.0.7/h",
        ] {
            assert!(
                UrlPolicy::LOCAL.check_url(raw).is_err(),
                "{raw} should be refused locally"
            );
        }
        for raw in [
            "http://127.1:9000/h",
            "http://0x7f.1:9000/h",
            "http://[::1]:9000/h",
        ] {
            assert!(UrlPolicy::LOCAL.check_url(raw).is_ok(), "{raw} is loopback");
        }
        // What the HTTP client would connect to is what was checked.
        let u = UrlPolicy::STRICT
            .check_url("https://93.184.215.14./x")
            .unwrap();
        assert_eq!(u.host_str(), Some("93.184.215.14"));
    }

    #[test]
    fn strict_policy_refuses_reserved_addresses() {
        let p = UrlPolicy::STRICT;
        for bad in [
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://172.16.0.1/hook",
            "https://192.168.0.10/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00:ec2::254]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://[64:ff9b::a9fe:a9fe]/hook",
            "https://0.0.0.0/hook",
            "https://100.64.0.1/hook",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://intranet/hook",
            "https://user:pass@example.com/hook",
            "ftp://example.com/hook",
            "not a url",
        ] {
            assert!(p.check_url(bad).is_err(), "{bad} should be refused");
        }
        for good in ["https://example.com/hook", "https://93.184.215.14:8443/x"] {
            assert!(p.check_url(good).is_ok(), "{good} should pass");
        }
        let local = UrlPolicy::LOCAL;
        assert!(local.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(local.check_url("http://localhost:9000/hook").is_ok());
        assert!(local.check_url("http://10.0.0.1/hook").is_err());
        assert!(local.check_url("http://169.254.169.254/").is_err());
    }
}
