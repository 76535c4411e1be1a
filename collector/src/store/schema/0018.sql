-- Version 18: the vocabulary view lists each word once per occurrence rather
-- than once per word. A 'row' view counts every occurrence of each word
-- it passes, so spelling out "sm" walked all 173,589 entries holding
-- "sms" (11 ms at a million entries); an 'instance' view is read
-- lazily, and `search::longer_words` steps from word to word: 1 ms.
DROP TABLE search_terms;
CREATE VIRTUAL TABLE search_instances USING fts5vocab(entries_fts, 'instance');
