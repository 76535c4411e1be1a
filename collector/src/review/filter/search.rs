/// What staff typed into the search box, as the words it is made of: runs
/// of letters and digits, at most [`Search::MAX_WORDS`]. Quotes, `*`, `NEAR`,
/// `-` and friends are plain text here; how the words are matched (every
/// one must occur, the last also as the start of a longer word, as people
/// expect while typing) is the store's business (`store::search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    leading: Vec<String>,
    last: String,
}

impl Search {
    pub const MAX_WORDS: usize = 16;

    /// `None` when nothing searchable is left.
    pub fn parse(input: &str) -> Option<Search> {
        let mut leading: Vec<String> = input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(Self::MAX_WORDS)
            .map(str::to_owned)
            .collect();
        let last = leading.pop()?;
        Some(Search { leading, last })
    }

    /// Every word but the last, as typed.
    pub fn leading(&self) -> &[String] {
        &self.leading
    }

    /// The last word, which may be the start of a longer one.
    pub fn last(&self) -> &str {
        &self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_input_becomes_words_and_syntax_becomes_text() {
        let words = |input: &str| {
            Search::parse(input).map(|s| {
                let mut words = s.leading().to_vec();
                words.push(s.last().to_owned());
                words
            })
        };
        assert_eq!(
            words("discount code"),
            Some(vec!["discount".to_owned(), "code".to_owned()])
        );
        assert_eq!(words("  "), None);
        assert_eq!(words("\"*^-"), None);
        // Operators are words, not syntax.
        assert_eq!(
            words("a NEAR b OR \"c\"*"),
            Some(["a", "NEAR", "b", "OR", "c"].map(str::to_owned).to_vec())
        );
        assert_eq!(words("café"), Some(vec!["café".to_owned()]));
        let many = "w ".repeat(40);
        assert_eq!(words(&many).map(|w| w.len()), Some(Search::MAX_WORDS));
    }
}
