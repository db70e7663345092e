//! The model's `@pattern` constraints, compiled once.
//!
//! Most identifiers of the model have patterns like `^ws-[0-9a-z]{8,63}$`: a literal prefix
//! and runs of ASCII classes, ending at `$` (and starting at `^` or anywhere). Those are
//! matched by a byte scan ([`Simple`]): asking the `regex` crate cost ~340 instructions per
//! call on a WorkSpace id (its cache pool and search set-up), the scan ~140. Every other
//! pattern goes to `regex` (linear time), or, for the few with look-around, to
//! `fancy_regex`.

/// A compiled model pattern.
pub enum Pattern {
    Simple(Simple),
    Linear(regex::Regex),
    Backtracking(fancy_regex::Regex),
}

impl Pattern {
    /// A pattern `regex` accepts (the generator checked it): a [`Simple`] one when it is,
    /// else `regex`'s.
    pub fn linear(src: &str) -> Pattern {
        match Simple::parse(src) {
            Some(s) => Pattern::Simple(s),
            None => Pattern::Linear(regex::Regex::new(src).expect("pattern checked by codegen")),
        }
    }

    /// Smithy `@pattern` semantics: a search, not an anchored match. A backtracking
    /// engine that gives up (too many steps) counts as no match.
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Simple(p) => p.is_match(s),
            Pattern::Linear(re) => re.is_match(s),
            Pattern::Backtracking(re) => re.is_match(s).unwrap_or(false),
        }
    }
}

/// `^`? (piece)* `$`: each piece one ASCII character or class, repeated between `min` and
/// `max` times; only the last piece may vary in length, so the fixed pieces either start at
/// the beginning (`^`) or end where the last piece's run starts, and a scan decides without
/// backtracking. Characters outside ASCII are in no class, so a match is all ASCII and its
/// byte counts are its character counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pieces: Vec<Piece>,
    /// `^`: the match starts at the beginning; otherwise anywhere (a search).
    anchored: bool,
    /// With `^`: the literal characters the pattern starts with (`ws-`), compared as one
    /// slice; `pieces` then holds the rest.
    prefix: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Whether each byte belongs to the piece (a table: one load per byte; testing a bit of
    /// a 128-bit set cost several instructions per byte).
    table: [bool; 256],
    min: usize,
    /// `None`: no upper bound (`+`, `*`, `{m,}`).
    max: Option<usize>,
}

impl Piece {
    /// A piece of the bytes set in `set` (bit `b` for byte `b` < 128).
    fn new(set: u128, min: usize, max: Option<usize>) -> Piece {
        let mut table = [false; 256];
        for (b, slot) in table.iter_mut().enumerate().take(128) {
            *slot = set & (1u128 << b) != 0;
        }
        Piece { table, min, max }
    }

    #[inline]
    fn has(&self, b: u8) -> bool {
        self.table[usize::from(b)]
    }

    /// Whether `run` is, whole, this piece: a count within its bounds of its members.
    fn takes(&self, run: &[u8]) -> bool {
        run.len() >= self.min && self.max.is_none_or(|m| run.len() <= m) && run.iter().all(|&b| self.has(b))
    }
}

impl Simple {
    /// Reads `src` when it has the simple form; `None` for anything else (alternation,
    /// groups, `.`, negated or Unicode classes, look-around, a variable piece before the
    /// last, no `$`, …), which `regex` then handles.
    pub fn parse(src: &str) -> Option<Simple> {
        let (anchored, src) = match src.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, src),
        };
        let body = src.strip_suffix('$')?;
        if body.ends_with('\\') {
            return None; // the `$` was escaped
        }
        let b = body.as_bytes();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let set = match b[i] {
                b'[' => {
                    let (set, next) = class(b, i + 1)?;
                    i = next;
                    set
                }
                b'\\' => {
                    let c = *b.get(i + 1)?;
                    i += 2;
                    bit(escaped(c)?)
                }
                c if c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'-' | b'_'
                            | b':'
                            | b'/'
                            | b'@'
                            | b','
                            | b'='
                            | b'#'
                            | b'%'
                            | b'!'
                            | b'~'
                            | b'\''
                            | b'"'
                            | b' '
                    ) =>
                {
                    i += 1;
                    bit(c)
                }
                _ => return None,
            };
            let (min, max, next) = quantifier(b, i)?;
            i = next;
            pieces.push(Piece::new(set, min, max));
        }
        let fixed = pieces.len().saturating_sub(1);
        if pieces[..fixed].iter().any(|p| p.max != Some(p.min)) {
            return None;
        }
        let mut prefix = Vec::new();
        if anchored {
            let literal = |p: &Piece| {
                let mut members = (0u8..128).filter(|&b| p.has(b));
                match (members.next(), members.next(), p.max) {
                    (Some(b), None, Some(n)) if n == p.min => Some((b, n)),
                    _ => None,
                }
            };
            let lead = pieces.iter().map_while(literal).count();
            for (b, n) in pieces.drain(..lead).filter_map(|p| literal(&p)) {
                prefix.extend(std::iter::repeat_n(b, n));
            }
        }
        Some(Simple {
            pieces,
            anchored,
            prefix,
        })
    }

    /// Whether `s` matches: the whole of it with `^`, else some suffix of it.
    pub fn is_match(&self, s: &str) -> bool {
        let s = s.as_bytes();
        if self.anchored {
            return self.matches_whole(s);
        }
        let Some((last, fixed)) = self.pieces.split_last() else {
            return true; // `$` alone
        };
        // The last piece takes a run at the end of `s` (at most the run of its members
        // there); the fixed pieces must match just before it.
        let width: usize = fixed.iter().map(|p| p.min).sum();
        let run = s.iter().rev().take_while(|&&b| last.has(b)).count();
        let most = last.max.map_or(run, |m| m.min(run));
        (last.min..=most).any(|t| {
            let end = s.len() - t;
            end >= width && Simple::fixed_match(fixed, &s[end - width..end])
        })
    }

    /// Fixed pieces against exactly their width of bytes.
    fn fixed_match(pieces: &[Piece], mut s: &[u8]) -> bool {
        for p in pieces {
            let (run, rest) = s.split_at(p.min);
            if !p.takes(run) {
                return false;
            }
            s = rest;
        }
        true
    }

    fn matches_whole(&self, s: &[u8]) -> bool {
        let Some(s) = s.strip_prefix(self.prefix.as_slice()) else {
            return false;
        };
        let Some((last, fixed)) = self.pieces.split_last() else {
            return s.is_empty();
        };
        let width: usize = fixed.iter().map(|p| p.min).sum();
        let Some((head, run)) = s.split_at_checked(width) else {
            return false;
        };
        Simple::fixed_match(fixed, head) && last.takes(run)
    }
}

fn bit(c: u8) -> u128 {
    1u128 << c
}

/// The character an escape `\c` stands for: ASCII punctuation only (`\d`, `\w`, … are
/// classes this reader leaves to `regex`).
fn escaped(c: u8) -> Option<u8> {
    c.is_ascii_punctuation().then_some(c)
}

/// A bracket class starting after `[` at `i`: its set and the index after `]`.
fn class(b: &[u8], mut i: usize) -> Option<(u128, usize)> {
    if b.get(i) == Some(&b'^') {
        return None;
    }
    let mut set = 0u128;
    let mut first = true;
    loop {
        let c = *b.get(i)?;
        if c == b']' && !first {
            return Some((set, i + 1));
        }
        first = false;
        // A POSIX class: `[:digit:]` and friends.
        if c == b'[' && b.get(i + 1) == Some(&b':') {
            let end = i + 2 + b[i + 2..].windows(2).position(|w| w == b":]")?;
            set |= posix(&b[i + 2..end])?;
            i = end + 2;
            continue;
        }
        let (lo, next) = class_char(b, i)?;
        // A range `a-z` (a `-` first or last is itself).
        if b.get(next) == Some(&b'-') && b.get(next + 1).is_some_and(|&c| c != b']') {
            let (hi, after) = class_char(b, next + 1)?;
            if hi < lo {
                return None;
            }
            for x in lo..=hi {
                set |= bit(x);
            }
            i = after;
        } else {
            set |= bit(lo);
            i = next;
        }
    }
}

/// One character inside a class: a plain ASCII character or an escaped punctuation mark.
fn class_char(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match *b.get(i)? {
        b'\\' => Some((escaped(*b.get(i + 1)?)?, i + 2)),
        b'[' | b'&' | b'~' => None, // nested classes and set operations
        c if c.is_ascii() && !c.is_ascii_control() => Some((c, i + 1)),
        _ => None,
    }
}

fn posix(name: &[u8]) -> Option<u128> {
    let range = |lo: u8, hi: u8| (lo..=hi).fold(0u128, |s, x| s | bit(x));
    Some(match name {
        b"digit" => range(b'0', b'9'),
        b"upper" => range(b'A', b'Z'),
        b"lower" => range(b'a', b'z'),
        b"alpha" => range(b'A', b'Z') | range(b'a', b'z'),
        b"alnum" => range(b'0', b'9') | range(b'A', b'Z') | range(b'a', b'z'),
        _ => return None,
    })
}

/// The quantifier at `i` (if any): `(min, max, index after it)`.
fn quantifier(b: &[u8], i: usize) -> Option<(usize, Option<usize>, usize)> {
    let q = match b.get(i) {
        None => return Some((1, Some(1), i)),
        Some(&q) => q,
    };
    let (min, max, next) = match q {
        b'+' => (1, None, i + 1),
        b'*' => (0, None, i + 1),
        b'?' => (0, Some(1), i + 1),
        b'{' => {
            let close = i + b[i..].iter().position(|&c| c == b'}')?;
            let inner = std::str::from_utf8(&b[i + 1..close]).ok()?;
            let (min, max) = match inner.split_once(',') {
                None => {
                    let n = inner.parse().ok()?;
                    (n, Some(n))
                }
                Some((lo, "")) => (lo.parse().ok()?, None),
                Some((lo, hi)) => (lo.parse().ok()?, Some(hi.parse().ok()?)),
            };
            (min, max, close + 1)
        }
        _ => return Some((1, Some(1), i)),
    };
    // A lazy or possessive suffix, or a second quantifier: leave it to `regex`.
    if matches!(b.get(next), Some(b'?' | b'+' | b'*' | b'{')) {
        return None;
    }
    if max.is_some_and(|m| m < min) {
        return None;
    }
    Some((min, max, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the generated code, as written there.
    fn model_patterns() -> Vec<String> {
        let mut out = Vec::new();
        for src in [
            include_str!("generated/workspaces/decode.rs"),
            include_str!("generated/ds/decode.rs"),
        ] {
            for part in src.split("(r#\"").skip(1) {
                if let Some(end) = part.find("\"#)") {
                    out.push(part[..end].to_string());
                }
            }
        }
        assert!(out.len() > 50, "found {} patterns", out.len());
        out
    }

    /// A small deterministic generator (xorshift): the test needs no seed from outside.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A string the pattern matches (members of each piece, a count in its bounds).
    fn example(p: &Simple, rng: &mut Rng) -> Vec<u8> {
        let mut s = Vec::new();
        // A search may match after anything.
        if !p.anchored {
            for _ in 0..rng.below(4) {
                s.push(0x20 + rng.below(0x5f) as u8);
            }
        }
        s.extend_from_slice(&p.prefix);
        for piece in &p.pieces {
            let members: Vec<u8> = (0u8..128).filter(|&b| piece.has(b)).collect();
            let max = piece.max.unwrap_or(piece.min + 5);
            let n = piece.min + rng.below(max - piece.min + 1);
            for _ in 0..n {
                s.push(members[rng.below(members.len())]);
            }
        }
        s
    }

    #[test]
    fn simple_patterns_agree_with_regex_on_matches_and_near_misses() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut simple = 0;
        let noise: Vec<char> = (0x20u8..0x7f)
            .map(char::from)
            .chain(['é', '\n', '\u{0}', 'ß'])
            .collect();
        for src in model_patterns() {
            let Some(p) = Simple::parse(&src) else { continue };
            simple += 1;
            let re = regex::Regex::new(&src).expect("the generator's patterns compile");
            let mut tried = 0;
            let mut matched = 0;
            for _ in 0..400 {
                let mut s = String::from_utf8(example(&p, &mut rng)).expect("ascii");
                // Half the time, change the string: replace, insert or drop one character.
                if rng.below(2) == 0 {
                    let mut chars: Vec<char> = s.chars().collect();
                    let c = noise[rng.below(noise.len())];
                    match rng.below(3) {
                        0 if !chars.is_empty() => {
                            let at = rng.below(chars.len());
                            chars[at] = c;
                        }
                        1 => chars.insert(rng.below(chars.len() + 1), c),
                        _ if !chars.is_empty() => {
                            chars.remove(rng.below(chars.len()));
                        }
                        _ => {}
                    }
                    s = chars.into_iter().collect();
                }
                assert_eq!(p.is_match(&s), re.is_match(&s), "{src} on {s:?}");
                tried += 1;
                matched += usize::from(re.is_match(&s));
            }
            assert!(
                matched > 0 && matched < tried,
                "{src}: {matched} of {tried} matched"
            );
        }
        assert!(simple >= 10, "only {simple} patterns read as simple");
    }

    #[test]
    fn the_simple_form_is_read_exactly() {
        let p = Simple::parse("^ws-[0-9a-z]{8,63}$").expect("simple");
        assert_eq!(p.prefix, b"ws-");
        assert!(p.is_match("ws-0123abcd"));
        assert!(!p.is_match("ws-0123abc"));
        assert!(!p.is_match("xws-0123abcd"));
        assert!(!p.is_match("ws-0123abcD"));
        assert!(!p.is_match(&format!("ws-{}", "a".repeat(64))));
        assert!(Simple::parse("^[a-z]{2}_[A-Z]{2}$")
            .expect("simple")
            .is_match("en_US"));
        assert!(Simple::parse("^[[:digit:]]{12}$")
            .expect("simple")
            .is_match("123456789012"));
        let p = Simple::parse("wsipg-[0-9a-z]{8,63}$").expect("simple");
        assert!(p.is_match("wsipg-0123abcd"));
        assert!(p.is_match("xx-wsipg-0123abcd"));
        assert!(p.is_match("wsipg-wsipg-0123abcd"));
        assert!(!p.is_match("wsipg-0123abc"));
        assert!(!p.is_match("wsipg-0123abcd-"));
        assert!(!p.is_match(&format!("wsipg-{}", "a".repeat(300))));
        assert!(Simple::parse("$").expect("simple").is_match("anything"));
        // Not simple: no `$`, alternation, groups, a variable piece before the last,
        // negated classes.
        for src in [
            "wsipg-[0-9a-z]{8,63}",
            "^[[:digit:]]{12}|AMAZON$",
            "^(vpc-[0-9a-f]{8}|vpc-[0-9a-f]{17})$",
            "^[a-z]+-[0-9]+$",
            "^[^a-z]+$",
            "^.{1,64}$",
        ] {
            assert_eq!(Simple::parse(src), None, "{src}");
        }
    }
}
