//! "Did you mean …?": the nearest known word to a misspelt one.

/// Edit distance between `a` and `b` ignoring ASCII case, where an insertion,
/// deletion, substitution or swap of two adjacent letters costs 1 (optimal
/// string alignment: `nmae` is one edit from `name`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let w = b.len() + 1;
    let mut m = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            m[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (m[(i - 1) * w + j] + 1)
                    .min(m[i * w + j - 1] + 1)
                    .min(m[(i - 1) * w + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(m[(i - 2) * w + j - 2] + 1);
                }
                best
            };
        }
    }
    m[a.len() * w + b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo:
/// at most a third of the candidate's length in edits (at least 1, at most 3).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean "x"?)` or the empty string.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean \"{c}\"?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("hostnme", "hostname"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("NEWNET", "newnet"), 0);
        assert_eq!(edit_distance("nmae", "name"), 1);
    }

    #[test]
    fn nearest_picks_the_closest_plausible_word() {
        let keys = ["hostname", "user", "tty", "namespaces"];
        assert_eq!(nearest("hostnme", keys), Some("hostname"));
        assert_eq!(nearest("namespace", keys), Some("namespaces"));
        assert_eq!(nearest("tt", keys), Some("tty"));
        assert_eq!(nearest("zzzzzzzz", keys), None);
        // Two edits on a three-letter word replace most of it: not a typo.
        assert_eq!(nearest("tea", ["tty"]), None);
    }
}
