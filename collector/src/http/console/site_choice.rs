//! Choosing a site in a filter: a list while there are few, a box for its
//! name or key when there are many. A list of 10,000 sites is about
//! 400 KB of HTML on every inbox page, and nobody scrolls it.

use maud::{Markup, html};

use crate::name::name_key;
use crate::review::filter::{ANY_OF_SEPARATOR, joined};
use crate::store::SiteSettings;

/// Above this many sites a filter takes a typed name or key.
pub const LISTED_SITES: usize = 100;

/// What staff chose, an id from the list or a typed name or key, as a
/// site's id (`None`: every site). The typed text is matched as its key,
/// then its name (in any case), then as part of exactly one name (in any
/// case, with or without accents, as the Sites page searches) or key.
pub fn resolve(chosen: &str, sites: &[SiteSettings]) -> Result<Option<i64>, String> {
    let typed = chosen.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = typed.parse::<i64>()
        && sites.iter().any(|s| s.id == id)
    {
        return Ok(Some(id));
    }
    if let Some(site) = sites.iter().find(|s| s.key == typed) {
        return Ok(Some(site.id));
    }
    let lower = typed.to_lowercase();
    if let Some(site) = sites.iter().find(|s| s.name.to_lowercase() == lower) {
        return Ok(Some(site.id));
    }
    let needle = name_key(typed);
    let mut partly = sites
        .iter()
        .filter(|s| name_key(&s.name).contains(&needle) || s.key.to_lowercase().contains(&needle));
    match (partly.next(), partly.next()) {
        (Some(site), None) => Ok(Some(site.id)),
        (None, _) => Err(format!("No site is called “{typed}”.")),
        (Some(_), Some(_)) => Err(format!(
            "More than one site is called “{typed}”: type more of its name or key."
        )),
    }
}

/// As [`resolve`], and also several sites by their ids separated by
/// commas, as a link or a tool names them (`site=3,7`): the inbox's
/// choice, as ids (none: every site).
pub fn resolve_any(chosen: &str, sites: &[SiteSettings]) -> Result<Vec<i64>, String> {
    let ids: Option<Vec<i64>> = chosen
        .split(ANY_OF_SEPARATOR)
        .map(|id| {
            let id = id.trim().parse().ok()?;
            sites.iter().any(|s| s.id == id).then_some(id)
        })
        .collect();
    match ids {
        Some(ids) if ids.len() > 1 => Ok(ids),
        _ => Ok(resolve(chosen, sites)?.into_iter().collect()),
    }
}

/// The site field of a filter form, showing `current` (none: every site).
pub fn field(current: &[i64], typed: &str, sites: &[SiteSettings]) -> Markup {
    let name = |id: &i64| sites.iter().find(|s| s.id == *id).map(|s| s.name.as_str());
    if sites.len() <= LISTED_SITES {
        // Several sites (from a link or a tool) get an option of their
        // own, chosen, so the filter in effect stays in sight and is kept
        // when the form is applied again.
        let several = (current.len() > 1).then(|| {
            let names: Vec<&str> = current.iter().filter_map(name).collect();
            (joined(current), names.join(" or "))
        });
        return html! {
            label {
                span { "Site" }
                select name="site" {
                    option value="" { "All sites" }
                    @if let Some((ids, names)) = &several {
                        option value=(ids) selected { (names) }
                    }
                    @for site in sites {
                        option value=(site.id) selected[current == [site.id]] { (site.name) }
                    }
                }
            }
        };
    }
    // Several stay as their ids, which read back as the same choice.
    let shown = match current {
        [one] => name(one).unwrap_or(typed),
        _ => typed,
    };
    html! {
        label {
            span { "Site" }
            input type="search" name="site" value=(shown) placeholder="Name or key (all sites if empty)";
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: i64, key: &str, name: &str) -> SiteSettings {
        SiteSettings {
            id,
            name: name.to_owned(),
            key: key.to_owned(),
            first_response_minutes: 60,
            response_promise: None,
            receipt_email: false,
        }
    }

    fn sites() -> Vec<SiteSettings> {
        vec![
            site(1, "site_aaa", "Shop"),
            site(2, "site_bbb", "Shop Europe"),
            site(3, "site_ccc", "Blog"),
        ]
    }

    #[test]
    fn a_site_is_found_by_id_key_name_or_a_unique_part() {
        let sites = sites();
        assert_eq!(resolve("", &sites), Ok(None));
        assert_eq!(resolve(" 2 ", &sites), Ok(Some(2)));
        assert_eq!(resolve("site_ccc", &sites), Ok(Some(3)));
        // The whole name wins over a part of a longer one.
        assert_eq!(resolve("shop", &sites), Ok(Some(1)));
        assert_eq!(resolve("europe", &sites), Ok(Some(2)));
        assert_eq!(resolve("bl", &sites), Ok(Some(3)));
    }

    #[test]
    fn a_name_is_found_in_any_case_with_or_without_its_accents() {
        let mut sites = sites();
        sites.push(site(4, "site_ddd", "Ärzte-Praxis"));
        sites.push(site(5, "site_eee", "Café"));
        sites.push(site(6, "site_fff", "Cafe"));
        assert_eq!(resolve("ÄRZTE-PRAXIS", &sites), Ok(Some(4)));
        assert_eq!(resolve("arzte", &sites), Ok(Some(4)));
        // Typed as one of two names alike but for an accent: that one.
        assert_eq!(resolve("CAFÉ", &sites), Ok(Some(5)));
        assert_eq!(resolve("cafe", &sites), Ok(Some(6)));
        assert!(
            resolve("caf", &sites)
                .unwrap_err()
                .contains("More than one")
        );
    }

    #[test]
    fn an_unknown_or_ambiguous_site_is_explained() {
        let sites = sites();
        assert_eq!(
            resolve("zebra", &sites),
            Err("No site is called “zebra”.".to_owned())
        );
        assert!(
            resolve("site_", &sites)
                .unwrap_err()
                .contains("More than one")
        );
        assert!(resolve("99", &sites).unwrap_err().contains("No site"));
    }

    #[test]
    fn several_sites_are_named_by_their_ids_and_shown_as_one_choice() {
        let sites = sites();
        assert_eq!(resolve_any("3,1", &sites), Ok(vec![3, 1]));
        assert_eq!(resolve_any(" 2 ", &sites), Ok(vec![2]));
        assert_eq!(resolve_any("", &sites), Ok(vec![]));
        // A list with an id no site has is read as a name, and refused.
        assert!(resolve_any("1,99", &sites).unwrap_err().contains("No site"));
        let listed = field(&[3, 1], "3,1", &sites).into_string();
        assert!(
            listed.contains(r#"<option value="3,1" selected>Blog or Shop</option>"#),
            "{listed}"
        );
        assert!(!listed.contains(r#"value="1" selected"#), "{listed}");
    }

    #[test]
    fn many_sites_are_chosen_by_typing_not_from_a_list() {
        let few = sites();
        let listed = field(&[2], "", &few).into_string();
        assert!(
            listed.contains(r#"<option value="2" selected>Shop Europe</option>"#),
            "{listed}"
        );
        let many: Vec<SiteSettings> = (1..=i64::try_from(LISTED_SITES).unwrap() + 1)
            .map(|i| site(i, &format!("site_{i}"), &format!("Shop {i}")))
            .collect();
        let typed = field(&[7], "", &many).into_string();
        assert!(!typed.contains("<option"), "{typed}");
        assert!(typed.contains(r#"value="Shop 7""#), "{typed}");
        let hostile = field(&[], "<b>", &many).into_string();
        assert!(hostile.contains("&lt;b&gt;"), "{hostile}");
    }
}
