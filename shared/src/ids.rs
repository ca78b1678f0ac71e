//! Time-sortable opaque ids: 48 bits of milliseconds then 80 random bits, Crockford base32,
//! 26 characters (the ULID layout). Sorting the text sorts by creation time.

use crate::clock::Millis;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const ID_LEN: usize = 26;

pub fn new_id(now: Millis) -> String {
    let mut rand = [0u8; 10];
    fill_random(&mut rand);
    let mut value: u128 = (now.max(0) as u128 & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in rand.iter().enumerate() {
        value |= (*b as u128) << (8 * (9 - i));
    }
    let mut out = [0u8; ID_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (ID_LEN - 1 - i);
        *slot = ALPHABET[((value >> shift) & 0x1F) as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when `s` has the exact shape of an id we issue (used to reject bad paths early).
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN && s.as_bytes()[0] <= b'7' && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// Random bytes from the OS. Failure here means the machine cannot give entropy, which no request
/// can recover from.
#[allow(
    clippy::expect_used,
    reason = "no secret or id can be made without entropy"
)]
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// `n` random bytes as lowercase hex, for secrets and tokens.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    fill_random(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_unique() {
        let a = new_id(1_000);
        let b = new_id(2_000);
        assert!(a < b);
        assert_ne!(new_id(5), new_id(5));
        assert!(is_id(&a) && is_id(&b));
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        assert!(!is_id("abc"));
        assert!(!is_id("01ARZ3NDEKTSV4RRFFQ69G5FAi"));
        assert!(!is_id("81ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(is_id("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    }
}
