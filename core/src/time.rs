//! Calendar arithmetic over Unix time. Core cannot read the clock: callers pass `now` in, which keeps
//! every rule that depends on time (expiry, signature tolerance) testable at any instant.

/// A calendar date in the proleptic Gregorian calendar (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// Unix seconds to the UTC calendar date, by Howard Hinnant's days-from-civil inverse.
pub fn date_of_unix(unix_seconds: i64) -> Date {
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

/// The Unix seconds at 00:00:00 UTC of `year-month-day` (days-from-civil).
pub fn unix_seconds_of(year: i32, month: u8, day: u8) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) * 86_400
}

/// The first instant of the month after `year-month`, as (year, month).
pub fn next_month(year: i32, month: u8) -> (i32, u8) {
    if month == 12 { (year + 1, 1) } else { (year, month + 1) }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-21T06:02:49Z`), the API's timestamp format.
pub fn rfc3339(unix_seconds: i64) -> String {
    let d = date_of_unix(unix_seconds);
    let secs = unix_seconds.rem_euclid(86_400);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", d.year, d.month, d.day, secs / 3_600, secs % 3_600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(date_of_unix(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(rfc3339(1_614_265_330), "2021-02-25T15:02:10Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn dates_and_seconds_are_inverse() {
        for seconds in [0i64, 951_782_400, 1_795_240_800 - 21_600, -86_400, 4_102_444_800] {
            let d = date_of_unix(seconds);
            assert_eq!(unix_seconds_of(d.year, d.month, d.day), seconds);
        }
        assert_eq!(next_month(2026, 12), (2027, 1));
        assert_eq!(next_month(2026, 11), (2026, 12));
    }
}
