//! Resource identifiers in AWS's formats (`wsipg-` + 9 of `[0-9a-z]`, ...).

use rand::Rng;

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `prefix` followed by `n` random characters of `[0-9a-z]`.
pub fn new_id(prefix: &str, n: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + n);
    s.push_str(prefix);
    for _ in 0..n {
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_match_the_model_patterns() {
        let id = super::new_id("wsipg-", 9);
        assert_eq!(id.len(), 15);
        assert!(id[6..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
    }
}
