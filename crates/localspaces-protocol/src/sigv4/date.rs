//! The two date layouts SigV4 reads and writes, on the `time` and `httpdate` crates. None of
//! this runs per request in open mode: only strict verification, its error messages, and the
//! per-second date caches of the request log and the console.

use std::time::UNIX_EPOCH;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Formats epoch seconds as `yyyymmddThhmmssZ` (UTC). Times outside the years -9999..=9999
/// are clamped to them.
pub fn format_amz_date(epoch_secs: i64) -> String {
    let min = PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
    let max = PrimitiveDateTime::MAX.assume_utc().unix_timestamp();
    let t =
        OffsetDateTime::from_unix_timestamp(epoch_secs.clamp(min, max)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `yyyymmddThhmmssZ` (UTC) into epoch seconds; `None` if malformed or not a real time.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        b[range].iter().try_fold(0u16, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
        })
    };
    let two = |range| num(range).and_then(|n| u8::try_from(n).ok());
    let month = Month::try_from(two(4..6)?).ok()?;
    let date = Date::from_calendar_date(i32::from(num(0..4)?), month, two(6..8)?).ok()?;
    let time = Time::from_hms(two(9..11)?, two(11..13)?, two(13..15)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Parses an HTTP date (IMF-fixdate `Sun, 30 Aug 2015 12:36:00 GMT`, or the obsolete RFC 850
/// and asctime forms HTTP/1.1 also accepts) into epoch seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s).ok()?;
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

/// The proleptic Gregorian date `(y, m, d)` of a count of days since 1970-01-01 (also the
/// console's and the request log's timestamps). Days outside the years -9999..=9999 are
/// clamped to them.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let jd = days.saturating_add(UNIX_EPOCH_JULIAN_DAY).clamp(
        i64::from(Date::MIN.to_julian_day()),
        i64::from(Date::MAX.to_julian_day()),
    );
    let d = i32::try_from(jd)
        .ok()
        .and_then(|jd| Date::from_julian_day(jd).ok())
        .unwrap_or(Date::MIN);
    (
        i64::from(d.year()),
        i64::from(u8::from(d.month())),
        i64::from(d.day()),
    )
}
