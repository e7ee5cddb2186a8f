//! "Did you mean ...?": the closest candidate to a misspelt name.

/// The candidate closest to `name`, if one is close enough to be a plausible typo: an edit
/// distance (with transpositions) of at most 1 for short names, 2 for names of 5+ characters
/// and 3 for 10+, or equal ignoring case and `-`/`_`.
pub(crate) fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let limit = match name.chars().count() {
        0..=4 => 1,
        5..=9 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = if norm(c) == norm(name) {
            0
        } else {
            distance(name, c)
        };
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// `did you mean `x`?` as a help line, if there is a close candidate.
pub(crate) fn help<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found_and_strangers_are_not() {
        let c = [
            "secret_name",
            "version_id",
            "secret_string",
            "secret_binary",
        ];
        assert_eq!(
            did_you_mean("secert_name", c).as_deref(),
            Some("secret_name")
        );
        assert_eq!(did_you_mean("version-id", c).as_deref(), Some("version_id"));
        assert_eq!(
            did_you_mean("Secret_String", c).as_deref(),
            Some("secret_string")
        );
        assert_eq!(did_you_mean("colour", c), None);
        assert_eq!(did_you_mean("x", ["y", "xy"]).as_deref(), Some("xy"));
    }
}
