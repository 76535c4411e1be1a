//! The arithmetic behind reports: calendar weeks, response times kept as
//! histograms, the page an entry came from and the words customers used.
//! Roll-ups store these, so a report reads a few hundred rows however many
//! entries there are.

use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;
/// Day 4 of the Unix epoch (1970-01-05) was a Monday: weeks start there.
const FIRST_MONDAY: i64 = 4;
/// Each histogram bucket is 5% wider than the one before, so a median or
/// p90 read from it is within 2.5% of the exact value.
const GROWTH: f64 = 1.05;
/// Times under a second share the first bucket.
const FLOOR_MS: f64 = 1_000.0;
/// Longest page key kept.
const PAGE_MAX: usize = 200;
/// Words counted per entry, at most.
const WORDS_PER_ENTRY: usize = 40;

/// Days since the Unix epoch.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Weeks (Monday to Sunday, UTC) since the first Monday of the epoch.
pub fn week_of(ms: i64) -> i64 {
    (day_of(ms) - FIRST_MONDAY).div_euclid(7)
}

/// Midnight UTC of the Monday that starts `week`.
pub fn week_start(week: i64) -> i64 {
    (week * 7 + FIRST_MONDAY) * DAY_MS
}

/// The histogram bucket of a duration.
pub fn bucket(ms: i64) -> i64 {
    let ms = (ms as f64).max(FLOOR_MS);
    ((ms / FLOOR_MS).ln() / GROWTH.ln()).floor() as i64
}

/// The duration a bucket stands for: its geometric middle.
pub fn bucket_value(bucket: i64) -> i64 {
    (FLOOR_MS * GROWTH.powf(bucket as f64 + 0.5)).round() as i64
}

/// The `q` quantile (0–1) of a histogram given as bucket → count: the
/// value of the bucket holding the ⌈q·n⌉-th smallest duration.
pub fn quantile(histogram: &BTreeMap<i64, i64>, q: f64) -> Option<i64> {
    let total: i64 = histogram.values().sum();
    if total <= 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (bucket, n) in histogram {
        seen += n;
        if seen >= rank {
            return Some(bucket_value(*bucket));
        }
    }
    None
}

/// The page an entry was sent from, without query or fragment (they carry
/// sessions and search terms, and would split one page into thousands).
pub fn page_key(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let page = url[..end].trim();
    if page.is_empty() {
        return "(no page)".to_owned();
    }
    page.chars().take(PAGE_MAX).collect()
}

/// Words too common to say anything about a page.
const STOP_WORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "because", "been", "before",
    "but", "can", "could", "did", "does", "for", "from", "had", "has", "have", "her", "his", "how",
    "into", "its", "just", "more", "not", "now", "only", "our", "out", "said", "should", "that",
    "the", "their", "them", "then", "there", "they", "this", "was", "were", "what", "when",
    "which", "while", "who", "will", "with", "would", "you", "your",
];

/// The distinct telling words of a text, lower case: letters and digits,
/// three characters or more, common words left out.
pub fn words(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.chars().count() < 3
            || word.chars().count() > 40
            || word.chars().all(|c| c.is_ascii_digit())
            || STOP_WORDS.contains(&word.as_str())
            || seen.contains(&word)
        {
            continue;
        }
        seen.push(word);
        if seen.len() == WORDS_PER_ENTRY {
            break;
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2026-11-30 is a Monday.
        let monday = 1_795_996_800_000;
        assert_eq!(week_start(week_of(monday)), monday);
        assert_eq!(week_of(monday + 7 * DAY_MS - 1), week_of(monday));
        assert_eq!(week_of(monday - 1), week_of(monday) - 1);
    }

    #[test]
    fn buckets_keep_durations_within_two_and_a_half_percent() {
        for ms in [1_000, 59_000, 3_600_000, 86_400_000, 30 * 86_400_000] {
            let value = bucket_value(bucket(ms)) as f64;
            let error = (value - ms as f64).abs() / ms as f64;
            assert!(error <= 0.026, "{ms}: {value}");
        }
        assert_eq!(bucket(0), bucket(999));
        assert!(bucket(2_000) > bucket(1_000));
    }

    #[test]
    fn quantiles_come_from_the_right_bucket() {
        let mut h = BTreeMap::new();
        for ms in [60_000, 120_000, 180_000, 240_000, 3_600_000] {
            *h.entry(bucket(ms)).or_insert(0) += 1;
        }
        let near = |got: Option<i64>, want: i64| {
            let got = got.unwrap() as f64;
            assert!(
                (got - want as f64).abs() / (want as f64) < 0.026,
                "{got} vs {want}"
            );
        };
        near(quantile(&h, 0.5), 180_000);
        near(quantile(&h, 0.9), 3_600_000);
        near(quantile(&h, 0.0), 60_000);
        assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    }

    #[test]
    fn pages_lose_query_and_fragment() {
        assert_eq!(
            page_key("https://shop.example/checkout?session=1#top"),
            "https://shop.example/checkout"
        );
        assert_eq!(page_key(""), "(no page)");
        assert_eq!(page_key(&"x".repeat(500)).len(), PAGE_MAX);
    }

    #[test]
    fn words_are_distinct_telling_and_lower_case() {
        assert_eq!(
            words("Free shipping over 50, but the shipping was CHARGED: 4.90!"),
            ["free", "shipping", "over", "charged"]
        );
        assert!(words("<script>alert(1)</script>").contains(&"script".to_owned()));
    }
}
