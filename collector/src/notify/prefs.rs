//! How a colleague wants to hear about feedback: at once for some kinds,
//! severities and sites; in a daily digest at an hour of their choosing;
//! and when someone assigns them an entry.

use std::collections::BTreeSet;

use earshot_protocol::{Kind, Severity};

use crate::review::workflow::{DAY, HOUR};
use crate::store::Role;

/// Hour of the default digest (UTC).
pub const DEFAULT_DIGEST_HOUR: u8 = 8;

/// How long after its hour a digest may still go out.
pub const DIGEST_WINDOW_MS: i64 = 3 * HOUR;

/// Which sites immediate emails cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sites {
    All,
    Only(BTreeSet<i64>),
}

impl Sites {
    /// As stored: `*`, or site ids separated by commas (unreadable ones
    /// skipped).
    fn from_stored(stored: &str) -> Sites {
        if stored.trim() == "*" {
            return Sites::All;
        }
        Sites::Only(
            stored
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect(),
        )
    }

    fn stored(&self) -> String {
        match self {
            Sites::All => "*".to_owned(),
            Sites::Only(ids) => ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
        }
    }
}

/// A stored site list without `site_id`, a site being removed, or `None`
/// when it does not name it. SQLite may give a removed site's id to the
/// next site added: left behind, the choice of one site would silently
/// become a choice of another.
pub fn sites_without(stored: &str, site_id: i64) -> Option<String> {
    match Sites::from_stored(stored) {
        Sites::All => None,
        Sites::Only(mut ids) => ids.remove(&site_id).then(|| Sites::Only(ids).stored()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    /// Kinds that send an email at once.
    pub kinds: BTreeSet<Kind>,
    /// Severities that send an email at once, whatever the kind.
    pub severities: BTreeSet<Severity>,
    pub sites: Sites,
    /// UTC hour of the daily digest, if wanted.
    pub digest_hour: Option<u8>,
    pub on_assign: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefsError {
    #[error("{0:?} is not a setting; use immediate=…, sites=…, digest=… or assigned=…")]
    Setting(String),
    #[error("{0:?} has no value: write it as name=value, like digest=8")]
    NoValue(String),
    #[error(
        "immediate takes off, or kinds and severities separated by commas (complaint, expectation, idea, praise, question, minor, annoying, blocking); not {0:?}"
    )]
    Immediate(String),
    #[error("digest takes off or an hour from 0 to 23 (UTC); not {0:?}")]
    Digest(String),
    #[error("assigned takes on or off; not {0:?}")]
    Assigned(String),
    #[error("sites takes all, or site keys separated by commas; no site has the key {0:?}")]
    Site(String),
}

impl Prefs {
    /// The day (days since the epoch, UTC) whose digest is due at `now`:
    /// its hour came within the last `DIGEST_WINDOW_MS`. A collector
    /// that was down for the whole window skips that day's digest rather
    /// than sending it at an odd hour.
    pub fn digest_day(&self, now: i64) -> Option<i64> {
        let offset = i64::from(self.digest_hour?) * HOUR;
        // The day whose digest hour came last, and when it came.
        let day = (now - offset).div_euclid(DAY);
        let scheduled = day * DAY + offset;
        (now - scheduled < DIGEST_WINDOW_MS).then_some(day)
    }

    /// When day `day`'s digest hour comes. A colleague whose account is
    /// newer first gets the next day's digest: the window is for a
    /// collector that was down at the hour, not a reason to send a new
    /// colleague (or every account a test makes) one at any hour.
    pub fn digest_scheduled(&self, day: i64) -> Option<i64> {
        Some(day * DAY + i64::from(self.digest_hour?) * HOUR)
    }

    /// Administrators hear at once about complaints, expectation mismatches
    /// and anything blocking; everyone gets the digest and assignments.
    pub fn defaults(role: Role) -> Prefs {
        let admin = role == Role::Admin;
        Prefs {
            kinds: if admin {
                [Kind::Complaint, Kind::Expectation].into()
            } else {
                BTreeSet::new()
            },
            severities: if admin {
                [Severity::Blocking].into()
            } else {
                BTreeSet::new()
            },
            sites: Sites::All,
            digest_hour: Some(DEFAULT_DIGEST_HOUR),
            on_assign: true,
        }
    }

    /// Whether a new entry should be emailed at once.
    pub fn wants_now(&self, site_id: i64, kind: Kind, severity: Option<Severity>) -> bool {
        let site = match &self.sites {
            Sites::All => true,
            Sites::Only(ids) => ids.contains(&site_id),
        };
        site && (self.kinds.contains(&kind)
            || severity.is_some_and(|s| self.severities.contains(&s)))
    }

    /// The immediate rule as stored: kinds then severities, by name.
    pub fn immediate_text(&self) -> String {
        let kinds = self.kinds.iter().map(|k| k.as_str());
        let severities = self.severities.iter().map(|s| s.as_str());
        kinds.chain(severities).collect::<Vec<_>>().join(",")
    }

    pub fn sites_text(&self) -> String {
        self.sites.stored()
    }

    /// From the stored columns; anything unknown in them is skipped.
    pub fn from_stored(
        immediate: &str,
        sites: &str,
        digest_hour: Option<i64>,
        on_assign: bool,
    ) -> Prefs {
        let mut prefs = Prefs {
            kinds: BTreeSet::new(),
            severities: BTreeSet::new(),
            sites: Sites::from_stored(sites),
            digest_hour: digest_hour
                .and_then(|h| u8::try_from(h).ok())
                .filter(|h| *h < 24),
            on_assign,
        };
        for part in immediate.split(',').map(str::trim) {
            if let Some(kind) = Kind::parse(part) {
                prefs.kinds.insert(kind);
            } else if let Some(severity) = Severity::parse(part) {
                prefs.severities.insert(severity);
            }
        }
        prefs
    }

    /// Applies one `name=value` setting. `site_id` looks up a site key.
    pub fn apply(
        &mut self,
        setting: &str,
        site_id: impl Fn(&str) -> Option<i64>,
    ) -> Result<(), PrefsError> {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| PrefsError::NoValue(setting.to_owned()))?;
        let value = value.trim();
        match name.trim() {
            "immediate" => {
                let (mut kinds, mut severities) = (BTreeSet::new(), BTreeSet::new());
                if value != "off" {
                    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        if let Some(kind) = Kind::parse(part) {
                            kinds.insert(kind);
                        } else if let Some(severity) = Severity::parse(part) {
                            severities.insert(severity);
                        } else {
                            return Err(PrefsError::Immediate(part.to_owned()));
                        }
                    }
                }
                self.kinds = kinds;
                self.severities = severities;
            }
            "sites" => {
                self.sites = if value == "all" || value == "*" {
                    Sites::All
                } else {
                    let mut ids = BTreeSet::new();
                    for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                        ids.insert(site_id(key).ok_or_else(|| PrefsError::Site(key.to_owned()))?);
                    }
                    Sites::Only(ids)
                };
            }
            "digest" => {
                self.digest_hour = match value {
                    "off" => None,
                    hour => Some(
                        hour.parse::<u8>()
                            .ok()
                            .filter(|h| *h < 24)
                            .ok_or_else(|| PrefsError::Digest(hour.to_owned()))?,
                    ),
                };
            }
            "assigned" => {
                self.on_assign = match value {
                    "on" => true,
                    "off" => false,
                    other => return Err(PrefsError::Assigned(other.to_owned())),
                };
            }
            other => return Err(PrefsError::Setting(other.to_owned())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_site_leaves_the_lists_that_name_it_and_only_those() {
        assert_eq!(sites_without("3,7,12", 7).as_deref(), Some("3,12"));
        assert_eq!(sites_without("7", 7).as_deref(), Some(""));
        assert_eq!(sites_without("3,12", 7), None);
        assert_eq!(sites_without("*", 7), None);
        assert_eq!(sites_without("", 7), None);
    }

    #[test]
    fn admins_hear_at_once_about_complaints_mismatches_and_blocking_things() {
        let admin = Prefs::defaults(Role::Admin);
        assert!(admin.wants_now(1, Kind::Complaint, None));
        assert!(admin.wants_now(1, Kind::Expectation, Some(Severity::Minor)));
        assert!(admin.wants_now(1, Kind::Idea, Some(Severity::Blocking)));
        assert!(!admin.wants_now(1, Kind::Praise, Some(Severity::Annoying)));
        assert_eq!(admin.digest_hour, Some(DEFAULT_DIGEST_HOUR));
        let agent = Prefs::defaults(Role::Agent);
        assert!(!agent.wants_now(1, Kind::Complaint, Some(Severity::Blocking)));
        assert!(agent.on_assign && agent.digest_hour.is_some());
    }

    #[test]
    fn a_digest_is_due_from_its_hour_for_three_hours_and_then_skipped() {
        let mut prefs = Prefs::defaults(Role::Agent);
        prefs.digest_hour = Some(17);
        // 2026-12-02 is day 20,789 since the epoch.
        let day = 20_789;
        let at = |hour: i64, minute: i64| day * DAY + hour * HOUR + minute * 60_000;
        assert_eq!(prefs.digest_day(at(16, 59)), None);
        assert_eq!(prefs.digest_day(at(17, 0)), Some(day));
        assert_eq!(prefs.digest_day(at(19, 59)), Some(day));
        assert_eq!(prefs.digest_day(at(20, 0)), None);
        // An hour late in the day is due past midnight only within its window.
        prefs.digest_hour = Some(23);
        assert_eq!(prefs.digest_day(at(23, 30)), Some(day));
        assert_eq!(prefs.digest_day(at(24, 30)), Some(day));
        assert_eq!(prefs.digest_day(at(26, 0)), None);
        // Before the epoch's first digest hour: the day before, not a panic.
        prefs.digest_hour = Some(0);
        assert_eq!(prefs.digest_day(-1), None);
        assert_eq!(prefs.digest_day(0), Some(0));
        prefs.digest_hour = None;
        assert_eq!(prefs.digest_day(at(17, 0)), None);
        assert_eq!(prefs.digest_scheduled(day), None);
        prefs.digest_hour = Some(17);
        assert_eq!(prefs.digest_scheduled(day), Some(at(17, 0)));
    }

    #[test]
    fn settings_change_one_thing_each_and_refuse_nonsense() {
        let mut prefs = Prefs::defaults(Role::Agent);
        let sites = |key: &str| (key == "site_a").then_some(7);
        prefs.apply("immediate=question,annoying", sites).unwrap();
        prefs.apply("sites=site_a", sites).unwrap();
        prefs.apply("digest=17", sites).unwrap();
        prefs.apply("assigned=off", sites).unwrap();
        assert!(prefs.wants_now(7, Kind::Question, None));
        assert!(prefs.wants_now(7, Kind::Idea, Some(Severity::Annoying)));
        assert!(!prefs.wants_now(8, Kind::Question, None));
        assert_eq!(prefs.digest_hour, Some(17));
        assert!(!prefs.on_assign);
        let stored = Prefs::from_stored(
            &prefs.immediate_text(),
            &prefs.sites_text(),
            prefs.digest_hour.map(i64::from),
            prefs.on_assign,
        );
        assert_eq!(stored, prefs);
        assert!(prefs.apply("immediate=rants", sites).is_err());
        assert!(prefs.apply("digest=24", sites).is_err());
        assert!(prefs.apply("sites=site_b", sites).is_err());
        assert_eq!(
            prefs.apply("volume=11", sites),
            Err(PrefsError::Setting("volume".into()))
        );
        assert_eq!(
            prefs.apply("digest", sites),
            Err(PrefsError::NoValue("digest".into()))
        );
        prefs.apply("immediate=off", sites).unwrap();
        prefs.apply("digest=off", sites).unwrap();
        assert!(!prefs.wants_now(7, Kind::Question, Some(Severity::Blocking)));
        assert_eq!(prefs.digest_hour, None);
    }
}
