//! How the console and staff emails name a colleague. Names are not
//! unique: two people called Ann both work here, and "Ann assigned this to
//! Ann" says nothing. Where another account bears the same name (compared
//! as the staff list sorts names: without case or accents), the email
//! follows it.

use std::collections::HashSet;

use crate::name::name_key;
use crate::store::{Account, User};

/// Every account, disabled ones too (a disabled Ann's name stays on the
/// timeline beside an active Ann's; what was left with her must be found).
pub struct Colleagues {
    accounts: Vec<Account>,
    active: Vec<User>,
    /// Name keys more than one account bears.
    shared: HashSet<String>,
}

impl Colleagues {
    pub fn new(accounts: Vec<Account>) -> Colleagues {
        let mut seen = HashSet::new();
        let mut shared = HashSet::new();
        for account in &accounts {
            let key = name_key(&account.user.name);
            if !seen.insert(key.clone()) {
                shared.insert(key);
            }
        }
        let active = accounts
            .iter()
            .filter(|a| a.disabled_at.is_none())
            .map(|a| a.user.clone())
            .collect();
        Colleagues {
            accounts,
            active,
            shared,
        }
    }

    pub fn all(&self) -> &[Account] {
        &self.accounts
    }

    /// Those who may be given work, in the store's order.
    pub fn active(&self) -> &[User] {
        &self.active
    }

    /// Whether more than one account bears `name` (without case or
    /// accents), so the console adds emails to it.
    pub fn shares_name(&self, name: &str) -> bool {
        self.shared.contains(&name_key(name))
    }

    /// The addresses of the other accounts bearing `user`'s name.
    pub fn namesakes(&self, user: &User) -> Vec<String> {
        if !self.shares_name(&user.name) {
            return Vec::new();
        }
        let key = name_key(&user.name);
        self.accounts
            .iter()
            .filter(|a| a.user.id != user.id && name_key(&a.user.name) == key)
            .map(|a| a.user.email.clone())
            .collect()
    }

    /// Account `id` by the name it bears now, with its email where that
    /// is ambiguous; `None` for an account that is not (any more).
    pub fn name_of(&self, id: i64) -> Option<String> {
        let account = self.accounts.iter().find(|a| a.user.id == id)?;
        Some(self.name(Some(id), &account.user.name))
    }

    /// `name`, the account `id`'s (as an event recorded it, or as it is
    /// now), with the account's email when the name alone is ambiguous. An
    /// event that does not know the account keeps the bare name.
    pub fn name(&self, id: Option<i64>, name: &str) -> String {
        let account = id.and_then(|id| self.accounts.iter().find(|a| a.user.id == id));
        match account {
            Some(a) if self.shares_name(name) => {
                format!("{name} ({})", a.user.email)
            }
            _ => name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Role;

    fn account(id: i64, name: &str, email: &str, disabled: bool) -> Account {
        Account {
            user: User {
                id,
                email: email.to_owned(),
                name: name.to_owned(),
                role: Role::Agent,
            },
            created_at: 0,
            disabled_at: disabled.then_some(1),
            last_sign_in_at: None,
        }
    }

    #[test]
    fn a_name_two_accounts_share_carries_the_email() {
        let colleagues = Colleagues::new(vec![
            account(1, "Ann", "ann@example.com", false),
            account(2, "ÄNN", "ann.b@example.com", true),
            account(3, "Bo", "bo@example.com", false),
        ]);
        assert_eq!(colleagues.name(Some(1), "Ann"), "Ann (ann@example.com)");
        assert_eq!(colleagues.name(Some(2), "ÄNN"), "ÄNN (ann.b@example.com)");
        assert_eq!(colleagues.name(Some(3), "Bo"), "Bo");
        assert_eq!(
            colleagues.name_of(2).as_deref(),
            Some("ÄNN (ann.b@example.com)")
        );
        assert_eq!(colleagues.name_of(9), None);
        let ann = &colleagues.all()[0].user;
        assert_eq!(colleagues.namesakes(ann), ["ann.b@example.com"]);
        assert!(colleagues.namesakes(&colleagues.all()[2].user).is_empty());
        let active: Vec<i64> = colleagues.active().iter().map(|u| u.id).collect();
        assert_eq!(active, [1, 3]);
    }

    #[test]
    fn a_name_without_its_account_stays_bare() {
        let colleagues = Colleagues::new(vec![
            account(1, "Ann", "ann@example.com", false),
            account(2, "Ann", "ann.b@example.com", false),
        ]);
        assert_eq!(colleagues.name(None, "Ann"), "Ann");
        assert_eq!(colleagues.name(Some(9), "Ann"), "Ann");
    }
}
