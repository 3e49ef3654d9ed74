//! IAM-style glob matching: `*` matches any run of characters (including none), `?` exactly one.
//!
//! Actions compare case-insensitively (`iam:passrole` is `iam:PassRole` to IAM); ARNs compare
//! case-sensitively. The matcher is iterative with single-star backtracking, so a hostile pattern
//! such as `*a*a*a*a*b` costs O(pattern × text), never exponential time.

/// Whether `pattern` matches all of `text`.
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    // Policies are almost always ASCII: match bytes without allocating.
    if pattern.is_ascii() && text.is_ascii() {
        let eq = |a: u8, b: u8| {
            if case_insensitive {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        return glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?', eq);
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob(&p, &t, '*', '?', |a: char, b: char| {
        if case_insensitive {
            a == b || a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    })
}

fn glob<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    star_token: T,
    one: T,
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last `*` seen, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(&c) if c == star_token => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(&c) if c == one || t.get(ti).is_some_and(|&tc| eq(c, tc)) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == star_token))
}

/// Whether an action pattern from a policy (`iam:Pass*`, `*`) covers `action` (`iam:PassRole`).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    matches(pattern.trim(), action, true)
}

/// Whether the text contains a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        assert!(matches("*", "", false));
        assert!(matches("*", "anything", false));
        assert!(matches("a*c", "abbbc", false));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123:role/x/y",
            false
        ));
        assert!(!matches(
            "arn:aws:iam::123:role/a*",
            "arn:aws:iam::123:role/b",
            false
        ));
        assert!(matches("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaab", false));
        assert!(!matches(
            "*a*a*a*a*b",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            false
        ));
    }

    #[test]
    fn actions_ignore_case() {
        assert!(action_matches("iam:pass*", "iam:PassRole"));
        assert!(action_matches("IAM:PASSROLE", "iam:PassRole"));
        assert!(action_matches("*", "iam:PassRole"));
        assert!(!action_matches("iam:Put*", "iam:PassRole"));
        assert!(!matches("ARN", "arn", false));
    }
}
