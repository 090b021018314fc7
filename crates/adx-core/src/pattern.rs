//! The regular expression of a `pattern` rule, matched the fast way where it can be.
//!
//! Rule values are short (a country code, a currency), so a general regex search spends more
//! on setting up than on matching. Where the pattern compiles to a small full DFA, a match is a
//! walk over the value's bytes, one table lookup each; otherwise (a pattern whose DFA would be
//! too large, or that needs look-around the DFA gives up on) the `regex` crate decides, with
//! the same syntax and the same answer.

use regex::Regex;
use regex_automata::Input;
use regex_automata::dfa::{Automaton, dense};

/// Largest DFA built for a pattern; past it the regex engine matches.
const DFA_SIZE_LIMIT: usize = 256 << 10;

/// A compiled `pattern` rule.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    dfa: Option<Box<dense::DFA<Vec<u32>>>>,
}

impl Pattern {
    /// Compiles `pattern` (the `regex` crate's syntax).
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(pattern)?;
        let dfa = dense::Builder::new()
            .configure(dense::Config::new().dfa_size_limit(Some(DFA_SIZE_LIMIT)))
            .build(pattern)
            .ok()
            .map(Box::new);
        Ok(Pattern { regex, dfa })
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether `value` contains a match, as [`Regex::is_match`] says.
    pub fn is_match(&self, value: &str) -> bool {
        match self
            .dfa
            .as_ref()
            .and_then(|dfa| walk(dfa, value.as_bytes()))
        {
            Some(matched) => matched,
            None => self.regex.is_match(value),
        }
    }
}

/// Runs the DFA over `bytes`; `None` when it gives up (a quit state), for the regex to decide.
fn walk(dfa: &dense::DFA<Vec<u32>>, bytes: &[u8]) -> Option<bool> {
    let mut state = dfa.start_state_forward(&Input::new(bytes)).ok()?;
    for &b in bytes {
        state = dfa.next_state(state, b);
        if dfa.is_special_state(state) {
            if dfa.is_match_state(state) {
                return Some(true);
            }
            if dfa.is_dead_state(state) {
                return Some(false);
            }
            if dfa.is_quit_state(state) {
                return None;
            }
        }
    }
    state = dfa.next_eoi_state(state);
    if dfa.is_quit_state(state) {
        return None;
    }
    Some(dfa.is_match_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> Pattern {
        match Pattern::new(p) {
            Ok(p) => p,
            Err(e) => panic!("{p}: {e}"),
        }
    }

    #[test]
    fn agrees_with_the_regex_crate() {
        let patterns = [
            "^[A-Z]{2}$",
            "^[A-Z]{3}$",
            "[0-9]+",
            "^cmp-[0-9]{4}$",
            r"^\w+$",
            r"\bEUR\b",
            "^$",
            "",
            "é|ü",
            "(?i)^usd$",
        ];
        let values = [
            "", "DE", "de", "DEU", "EUR", "US D", "x EUR y", "cmp-0245", "cmp-245", "été", "ü",
            "42", "abc_123", "Usd", "\u{00a0}", "ÉÉ",
        ];
        for p in patterns {
            let compiled = pattern(p);
            let regex = match Regex::new(p) {
                Ok(r) => r,
                Err(e) => panic!("{p}: {e}"),
            };
            for v in values {
                assert_eq!(compiled.is_match(v), regex.is_match(v), "{p} on {v:?}");
            }
        }
    }

    #[test]
    fn simple_patterns_get_a_dfa() {
        assert!(pattern("^[A-Z]{2}$").dfa.is_some());
        assert_eq!(pattern("^[A-Z]{2}$").as_str(), "^[A-Z]{2}$");
    }

    #[test]
    fn a_bad_pattern_is_refused() {
        assert!(Pattern::new("[").is_err());
    }
}
