//! "Did you mean" suggestions for misspelled keys and values.

/// The candidate closest to `word`, if one is close enough to be a typo.
/// `start_period` and `Packages` count as spellings of `start-period` and
/// `packages`.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let word = fold(word);
    // Keys are short; a long word is no typo of any of them.
    if word.len() > 64 {
        return None;
    }
    let limit = (word.chars().count() / 3).max(1);
    let close = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word, &fold(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // An abbreviation: `dev` for `devel`, `pkgs` does not count.
    close.or_else(|| {
        let mut prefixed = candidates
            .iter()
            .filter(|c| word.len() >= 3 && fold(c).starts_with(&word));
        match (prefixed.next(), prefixed.next()) {
            (Some(c), None) => Some(*c),
            _ => None,
        }
    })
}

/// `` did you mean `x`? `` or, when nothing is close, the list to choose from.
pub fn hint(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("expected one of {}", one_of(candidates)),
    }
}

/// `` `a`, `b`, `c` ``
pub fn one_of(candidates: &[&str]) -> String {
    let quoted: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let keys = ["packages", "snapshot"];
        assert_eq!(closest("pakages", &keys), Some("packages"));
        assert_eq!(closest("Packages", &keys), Some("packages"));
        assert_eq!(closest("snapshto", &keys), Some("snapshot"));
        assert_eq!(closest("mirror", &keys), None);
        assert_eq!(closest("dev", &["base", "runtime", "devel"]), Some("devel"));
        assert_eq!(closest("pa", &keys), None);
        assert_eq!(
            closest("start_period", &["interval", "start-period"]),
            Some("start-period")
        );
        assert_eq!(hint("zzz", &keys), "expected one of `packages`, `snapshot`");
    }
}
