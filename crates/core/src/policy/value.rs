//! Resource patterns and condition values as IAM reads them: `*` and `?` wildcards (in
//! resources and `...Like` operators), ARN matching component by component, and policy
//! variables.
//!
//! A policy variable (`${aws:username}`, `${aws:PrincipalTag/team}`) stands for one value the
//! caller's request context supplies. rolewarden never knows it, but it is one value, not a
//! wildcard: it is never a value nobody wrote (a *fresh* value, made of a character the document
//! does not contain, see [`super::probe`]), and it may be any other non-empty text. A pattern
//! with a variable therefore matches `False` or `Unknown`, never `True`. `${*}`, `${?}` and
//! `${$}` are escapes for the literal characters. Variables exist only in documents of version
//! `2012-10-17`; in older ones `${...}` is plain text.

use super::evaluate::Truth;

/// The version from which `${...}` is a policy variable.
pub const VARIABLES_VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
    /// A policy variable: one non-empty value without the fresh character.
    Var,
}

/// How a value's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Syntax {
    /// `*` and `?` are wildcards (resources, `...Like`, `Arn...`), not text (`...Equals`).
    pub wildcards: bool,
    /// `${...}` is a policy variable.
    pub variables: bool,
}

/// A pattern compiled from a resource or condition value.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    text: String,
    syntax: Syntax,
    toks: Vec<Tok>,
    /// [`Pattern::arn_parts`], computed on first use.
    arn: std::cell::OnceCell<Option<Vec<Pattern>>>,
}

impl Pattern {
    pub fn parse(text: &str, syntax: Syntax) -> Self {
        let mut toks = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some(close) = rest.find('}') {
                    let inner = rest.get(2..close).unwrap_or_default();
                    toks.push(match inner {
                        "*" => Tok::Char('*'),
                        "?" => Tok::Char('?'),
                        "$" => Tok::Char('$'),
                        _ => Tok::Var,
                    });
                    rest = rest.get(close + 1..).unwrap_or_default();
                    continue;
                }
            }
            toks.push(match c {
                '*' if syntax.wildcards => Tok::Star,
                '?' if syntax.wildcards => Tok::One,
                c => Tok::Char(c),
            });
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        Pattern {
            text: text.to_owned(),
            syntax,
            toks,
            arn: std::cell::OnceCell::new(),
        }
    }

    /// The text as written in the policy.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How the text is read: the same text is another pattern under `StringEquals` than
    /// under `StringLike`.
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    pub fn has_variable(&self) -> bool {
        self.toks.contains(&Tok::Var)
    }

    /// How many `?` wildcards the pattern has.
    pub fn ones(&self) -> usize {
        self.toks.iter().filter(|t| **t == Tok::One).count()
    }

    /// Whether the pattern is a lone `*`.
    pub fn is_star(&self) -> bool {
        self.toks == [Tok::Star]
    }

    /// The text with its literal characters only, `None` when it has a wildcard or variable.
    pub fn literal(&self) -> Option<String> {
        self.toks
            .iter()
            .map(|t| match t {
                Tok::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether the pattern matches all of `text`. `fresh` is the character a policy variable
    /// never stands for. The steps it takes come out of `budget`; when they run out the answer
    /// is `Unknown`, which callers already read on the safe side (an Allow may apply, a Deny is
    /// not relied on).
    pub fn matches(
        &self,
        text: &str,
        case_insensitive: bool,
        fresh: char,
        budget: &Budget,
    ) -> Truth {
        let hit = if self.has_variable() {
            let chars: Vec<char> = text.chars().collect();
            // The table costs every cell, whatever the text.
            budget
                .take(self.toks.len().saturating_mul(chars.len() + 1))
                .then(|| toks_match(&self.toks, &chars, case_insensitive, fresh))
        } else if text.is_ascii() {
            // Most policies and every probe are ASCII: no copy of the text.
            glob_match(&self.toks, text.as_bytes(), case_insensitive, budget)
        } else {
            let chars: Vec<char> = text.chars().collect();
            glob_match(&self.toks, &chars, case_insensitive, budget)
        };
        let Some(hit) = hit else {
            return Truth::Unknown;
        };
        if !hit {
            Truth::False
        } else if self.has_variable() {
            Truth::Unknown
        } else {
            Truth::True
        }
    }

    /// `ArnEquals`/`ArnLike`: the six colon-separated components compared one by one (the last
    /// takes the rest, colons included). A pattern of fewer components, such as
    /// `arn:aws:lex:*`, is matched as a whole, which reads it as every resource it prefixes.
    pub fn matches_arn(&self, text: &str, fresh: char, budget: &Budget) -> Truth {
        let Some(parts) = self.arn.get_or_init(|| self.arn_parts()) else {
            return self.matches(text, false, fresh, budget);
        };
        let values: Vec<&str> = text.splitn(6, ':').collect();
        if values.len() != 6 {
            return Truth::False;
        }
        Truth::all(
            parts
                .iter()
                .zip(values)
                .map(|(p, v)| p.matches(v, false, fresh, budget)),
        )
    }

    /// The pattern's six ARN components, when it has six (a colon inside `${...}` does not
    /// count).
    pub fn arn_parts(&self) -> Option<Vec<Pattern>> {
        let mut parts: Vec<String> = vec![String::new()];
        let mut in_variable = false;
        let mut previous = None;
        for c in self.text.chars() {
            if self.syntax.variables {
                if c == '{' && previous == Some('$') {
                    in_variable = true;
                } else if c == '}' {
                    in_variable = false;
                }
            }
            previous = Some(c);
            if c == ':' && !in_variable && parts.len() < 6 {
                parts.push(String::new());
            } else if let Some(last) = parts.last_mut() {
                last.push(c);
            }
        }
        (parts.len() == 6).then(|| {
            parts
                .iter()
                .map(|part| Pattern::parse(part, self.syntax))
                .collect()
        })
    }

    /// The length in bytes of [`Pattern::instantiate`]'s value, without making it.
    pub fn instantiated_len(&self, wild: &str, var: &str) -> usize {
        let one = wild.chars().next().map_or(0, char::len_utf8);
        self.toks
            .iter()
            .map(|t| match t {
                Tok::Char(c) => c.len_utf8(),
                Tok::Star => wild.len(),
                Tok::One => one,
                Tok::Var => var.len(),
            })
            .fold(0usize, usize::saturating_add)
    }

    /// A value the pattern matches: wildcards replaced by `wild` (one character of it for
    /// `?`), variables by `var`.
    pub fn instantiate(&self, wild: &str, var: &str) -> String {
        let one: String = wild.chars().take(1).collect();
        render(&self.toks, wild, &one, var)
    }

    /// A pattern whose values all match both `self` and `other`, as wide as a simple search
    /// finds (`arn:aws:lex:*:*:bot-alias/*` and `arn:aws:lex:*:111122223333:*` meet in
    /// `arn:aws:lex:*:111122223333:bot-alias/*`); `None` when none is found. Two ARN patterns
    /// meet component by component first, which `Arn...` operators need and `...Like` accepts.
    /// Its wildcards filled with fresh text, it is a value of both that no narrower pattern
    /// names: what a grant conditioned on both (or on one, with a Deny that spares only the
    /// other) still reaches.
    pub fn meet(&self, other: &Pattern) -> Option<Pattern> {
        let mut steps = usize::MAX;
        self.meet_within(other, &mut steps)
    }

    /// [`Pattern::meet`] in at most `steps` steps of its search, less those it takes; `None`
    /// as well when they run out.
    pub fn meet_within(&self, other: &Pattern, steps: &mut usize) -> Option<Pattern> {
        if self.toks.len() + other.toks.len() > MEET_TOKENS {
            return None;
        }
        let by_part = match (arn_split(&self.toks), arn_split(&other.toks)) {
            (Some(a), Some(b)) => a
                .iter()
                .zip(&b)
                .enumerate()
                .map(|(k, (a, b))| {
                    let mut part = meet_toks(a, b, steps)?;
                    if k > 0 {
                        part.insert(0, Tok::Char(':'));
                    }
                    Some(part)
                })
                .collect::<Option<Vec<Vec<Tok>>>>()
                .map(|parts| parts.concat()),
            _ => None,
        };
        let toks = by_part.or_else(|| meet_toks(&self.toks, &other.toks, steps))?;
        Some(Pattern::from_toks(toks))
    }

    /// A pattern of tokens, with a text that parses back to them.
    fn from_toks(toks: Vec<Tok>) -> Pattern {
        let mut text = String::new();
        for tok in &toks {
            match tok {
                Tok::Char(c @ ('*' | '?' | '$')) => {
                    text.push_str("${");
                    text.push(*c);
                    text.push('}');
                }
                Tok::Char(c) => text.push(*c),
                Tok::Star => text.push('*'),
                Tok::One => text.push('?'),
                Tok::Var => text.push_str("${...}"),
            }
        }
        Pattern {
            text,
            syntax: Syntax {
                wildcards: true,
                variables: true,
            },
            toks,
            arn: std::cell::OnceCell::new(),
        }
    }
}

/// The longest pair of patterns [`Pattern::meet`] searches (its recursion is that deep); IAM
/// values are far shorter.
const MEET_TOKENS: usize = 512;

/// The six ARN components of a pattern's tokens (a `:` inside a variable is part of it).
fn arn_split(toks: &[Tok]) -> Option<Vec<&[Tok]>> {
    let mut parts: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = toks;
    while parts.len() < 5 {
        let at = rest.iter().position(|t| *t == Tok::Char(':'))?;
        parts.push(rest.get(..at)?);
        rest = rest.get(at + 1..)?;
    }
    parts.push(rest);
    Some(parts)
}

/// A token sequence matched only by texts both `a` and `b` match (see [`Pattern::meet`]).
fn meet_toks(a: &[Tok], b: &[Tok], steps: &mut usize) -> Option<Vec<Tok>> {
    let mut failed = std::collections::HashSet::new();
    let mut out = Vec::new();
    meet_from(a, b, At::default(), &mut failed, &mut out, steps).then(|| {
        out.reverse();
        out
    })
}

/// Where a search of [`meet_toks`] stands: a token of each side, and whether a variable there
/// has already taken some text (it takes one character or more).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct At {
    i: usize,
    j: usize,
    open_a: bool,
    open_b: bool,
}

/// Depth-first over the pairs of positions, each failing one remembered: O(a × b) steps. On
/// success `out` holds the tokens, last first.
fn meet_from(
    a: &[Tok],
    b: &[Tok],
    at: At,
    failed: &mut std::collections::HashSet<At>,
    out: &mut Vec<Tok>,
    steps: &mut usize,
) -> bool {
    if failed.contains(&at) || *steps == 0 {
        return false;
    }
    *steps -= 1;
    let (x, y) = (a.get(at.i), b.get(at.j));
    if x.is_none() && y.is_none() {
        return true;
    }
    let next = |di: usize, dj: usize, open_a: bool, open_b: bool| At {
        i: at.i + di,
        j: at.j + dj,
        open_a,
        open_b,
    };
    // Each move: the token it emits (if any) and the state it leads to.
    let mut moves: Vec<(Option<Tok>, At)> = Vec::with_capacity(4);
    match (x, y) {
        (Some(Tok::Star), Some(Tok::Star)) => {
            moves.push((Some(Tok::Star), next(1, 1, false, false)));
            moves.push((Some(Tok::Star), next(1, 0, false, false)));
            moves.push((Some(Tok::Star), next(0, 1, false, false)));
        }
        (Some(Tok::Star), Some(&t)) => {
            moves.push((Some(t), next(0, 1, false, false)));
            moves.push((None, next(1, 0, false, at.open_b)));
        }
        (Some(&t), Some(Tok::Star)) => {
            moves.push((Some(t), next(1, 0, false, false)));
            moves.push((None, next(0, 1, at.open_a, false)));
        }
        (Some(Tok::Star), None) => moves.push((None, next(1, 0, false, false))),
        (None, Some(Tok::Star)) => moves.push((None, next(0, 1, false, false))),
        (Some(Tok::Var), Some(Tok::Var)) => {
            moves.push((Some(Tok::Var), next(1, 1, false, false)));
        }
        (Some(Tok::Var), Some(&Tok::Char(c))) => {
            moves.push((Some(Tok::Char(c)), next(0, 1, true, false)));
        }
        (Some(&Tok::Char(c)), Some(Tok::Var)) => {
            moves.push((Some(Tok::Char(c)), next(1, 0, false, true)));
        }
        (Some(&Tok::Char(c)), Some(&Tok::Char(d))) if c == d => {
            moves.push((Some(Tok::Char(c)), next(1, 1, false, false)));
        }
        (Some(&Tok::Char(c)), Some(Tok::One)) | (Some(Tok::One), Some(&Tok::Char(c))) => {
            moves.push((Some(Tok::Char(c)), next(1, 1, false, false)));
        }
        (Some(Tok::One), Some(Tok::One)) => {
            moves.push((Some(Tok::One), next(1, 1, false, false)));
        }
        _ => {}
    }
    // A variable that took some text may end there.
    if at.open_a && x == Some(&Tok::Var) {
        moves.push((None, next(1, 0, false, at.open_b)));
    }
    if at.open_b && y == Some(&Tok::Var) {
        moves.push((None, next(0, 1, at.open_a, false)));
    }
    for (tok, to) in moves {
        if meet_from(a, b, to, failed, out, steps) {
            out.extend(tok);
            return true;
        }
    }
    failed.insert(at);
    false
}

fn render(toks: &[Tok], star: &str, one: &str, var: &str) -> String {
    let mut out = String::new();
    for tok in toks {
        match tok {
            Tok::Char(c) => out.push(*c),
            Tok::Star => out.push_str(star),
            Tok::One => out.push_str(one),
            Tok::Var => out.push_str(var),
        }
    }
    out
}

fn same(a: char, b: char, case_insensitive: bool) -> bool {
    a == b || (case_insensitive && a.to_lowercase().eq(b.to_lowercase()))
}

/// Patterns without variables: iterative matching with single-star backtracking, O(pattern ×
/// text) without allocating; `None` when `budget` runs out first.
fn glob_match<T: Copy + Into<char>>(
    toks: &[Tok],
    text: &[T],
    case_insensitive: bool,
    budget: &Budget,
) -> Option<bool> {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position after the last `*` seen, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    // Steps are taken from the budget in chunks: one `Cell` update per chunk, not per step.
    let mut chunk = 0usize;
    while ti < text.len() {
        if chunk == 0 {
            if !budget.take(BUDGET_CHUNK) {
                return None;
            }
            chunk = BUDGET_CHUNK;
        }
        chunk -= 1;
        match (toks.get(pi), text.get(ti)) {
            (Some(Tok::Star), _) => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            (Some(Tok::One), Some(_)) => {
                pi += 1;
                ti += 1;
            }
            (Some(Tok::Char(c)), Some(&t)) if same(*c, t.into(), case_insensitive) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => {
                    budget.give_back(chunk);
                    return Some(false);
                }
            },
        }
    }
    budget.give_back(chunk);
    Some(
        toks.get(pi..)
            .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Star)),
    )
}

/// How many steps [`glob_match`] takes from a [`Budget`] at a time.
const BUDGET_CHUNK: usize = 256;

/// The steps pattern tests may still take in one judgement, shared by all of them: the number
/// of tests says little about the work (a test of `*a*a*a...` on a probe made of such values
/// walks thousands of characters), so the work itself is counted. Once it runs out every test
/// is `Unknown`, and [`Budget::ran_out`] says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    left: std::cell::Cell<usize>,
    ran_out: std::cell::Cell<bool>,
}

impl Budget {
    pub fn new(steps: usize) -> Self {
        Budget {
            left: std::cell::Cell::new(steps),
            ran_out: std::cell::Cell::new(false),
        }
    }

    /// No bound, for one-off tests.
    pub fn unlimited() -> Self {
        Budget::new(usize::MAX)
    }

    /// Whether some test was cut short (and answered `Unknown`).
    pub fn ran_out(&self) -> bool {
        self.ran_out.get()
    }

    /// The steps taken so far out of an [`Budget::unlimited`] one.
    pub fn spent(&self) -> usize {
        usize::MAX.saturating_sub(self.left.get())
    }

    /// Takes `steps` that were already walked (on another budget), as many as are left: the
    /// tests still to come get only the rest.
    pub fn charge(&self, steps: usize) {
        self.left.set(self.left.get().saturating_sub(steps));
    }

    /// Takes `steps`, or marks the budget spent when fewer are left.
    fn take(&self, steps: usize) -> bool {
        match self.left.get().checked_sub(steps) {
            Some(left) => {
                self.left.set(left);
                true
            }
            None => {
                self.left.set(0);
                self.ran_out.set(true);
                false
            }
        }
    }

    fn give_back(&self, steps: usize) {
        self.left.set(self.left.get().saturating_add(steps));
    }
}

/// One row of the classic glob table per token: `row[j]` says whether the tokens so far match
/// the first `j` characters. O(pattern × text), whatever the pattern.
fn toks_match(toks: &[Tok], text: &[char], case_insensitive: bool, fresh: char) -> bool {
    let eq = |a: char, b: char| same(a, b, case_insensitive);
    let start = std::iter::once(true).chain(std::iter::repeat_n(false, text.len()));
    let mut row: Vec<bool> = start.collect();
    for tok in toks {
        let head = std::iter::once(false);
        row = match *tok {
            Tok::Char(c) => head
                .chain(row.iter().zip(text).map(|(&r, &t)| r && eq(c, t)))
                .collect(),
            Tok::One => head.chain(row.iter().take(text.len()).copied()).collect(),
            Tok::Star => row
                .iter()
                .scan(false, |seen, &r| {
                    *seen |= r;
                    Some(*seen)
                })
                .collect(),
            Tok::Var => head
                .chain(row.iter().zip(text).scan(false, |open, (&r, &t)| {
                    *open = (*open || r) && t != fresh;
                    Some(*open)
                }))
                .collect(),
        };
        if !row.contains(&true) {
            return false;
        }
    }
    row.last().copied().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIKE: Syntax = Syntax {
        wildcards: true,
        variables: true,
    };
    const EQUALS: Syntax = Syntax {
        wildcards: false,
        variables: true,
    };

    fn like(p: &str, t: &str) -> Truth {
        Pattern::parse(p, LIKE).matches(t, false, 'Q', &Budget::unlimited())
    }

    #[test]
    fn wildcards_and_literals() {
        assert_eq!(like("*", ""), Truth::True);
        assert_eq!(like("a*c", "abbbc"), Truth::True);
        assert_eq!(like("a?c", "ac"), Truth::False);
        assert_eq!(like("*a*a*a*b", "aaaaaaaaaaaaaaaaaaa"), Truth::False);
        let eq = Pattern::parse("lex*", EQUALS);
        assert_eq!(
            eq.matches("lexv2", false, 'Q', &Budget::unlimited()),
            Truth::False
        );
        assert_eq!(
            eq.matches("lex*", false, 'Q', &Budget::unlimited()),
            Truth::True
        );
        assert_eq!(eq.literal().as_deref(), Some("lex*"));
        assert_eq!(
            Pattern::parse("LEX", EQUALS).matches("lex", true, 'Q', &Budget::unlimited()),
            Truth::True
        );
    }

    #[test]
    fn variables_are_one_unknown_value_never_a_fresh_one() {
        assert_eq!(like("role/${aws:username}", "role/alice"), Truth::Unknown);
        assert_eq!(like("role/${aws:username}", "role/QQQQ"), Truth::False);
        assert_eq!(like("role/${aws:username}", "role/"), Truth::False);
        assert_eq!(like("${aws:username}-*", "QQ-x"), Truth::False);
        assert_eq!(like("${*}", "*"), Truth::True);
        assert_eq!(like("${*}", "lex"), Truth::False);
        let old = Pattern::parse(
            "${*}",
            Syntax {
                wildcards: true,
                variables: false,
            },
        );
        assert_eq!(
            old.matches("${anything}", false, 'Q', &Budget::unlimited()),
            Truth::True
        );
    }

    fn meet(a: &str, b: &str) -> Option<String> {
        Pattern::parse(a, LIKE)
            .meet(&Pattern::parse(b, LIKE))
            .map(|m| m.text().to_owned())
    }

    #[test]
    fn patterns_meet_in_values_of_both() {
        let both = meet(
            "arn:aws:lex:*:*:bot-alias/*",
            "arn:aws:lex:*:111122223333:*",
        );
        assert_eq!(
            both.as_deref(),
            Some("arn:aws:lex:*:111122223333:bot-alias/*")
        );
        assert_eq!(meet("*a*", "*b*").as_deref(), Some("*a*b*"));
        assert_eq!(
            meet("lex*", "*.amazonaws.com").as_deref(),
            Some("lex*.amazonaws.com")
        );
        assert_eq!(meet("a?c", "*b*").as_deref(), Some("abc"));
        assert_eq!(meet("lex-*", "ops-*"), None);
        assert_eq!(meet("a?", "abc"), None);
        // A variable takes one character or more, never none.
        assert_eq!(
            meet("role/${aws:username}", "role/*").as_deref(),
            Some("role/${...}")
        );
        assert_eq!(
            meet("role/${aws:username}", "role/ab").as_deref(),
            Some("role/ab")
        );
        assert_eq!(meet("role/${aws:username}", "role/"), None);
        // A literal wildcard stays literal, and parses back as one.
        let equals = Pattern::parse("lex*", EQUALS);
        let met = equals.meet(&Pattern::parse("l*", LIKE)).unwrap();
        assert_eq!(met.text(), "lex${*}");
        assert_eq!(
            met.matches("lex*", false, 'Q', &Budget::unlimited()),
            Truth::True
        );
        assert_eq!(
            met.matches("lexv2", false, 'Q', &Budget::unlimited()),
            Truth::False
        );
        // What the meet's values are: values of both.
        for (a, b) in [
            (
                "arn:aws:lex:*:*:bot-alias/*",
                "arn:aws:lex:*:111122223333:*",
            ),
            ("*:bot-alias/*", "arn:aws:lex:*"),
            (
                "arn:aws:*:*:111122223333:*",
                "arn:aws:lex:us-east-1:*:bot:*",
            ),
        ] {
            let value = Pattern::parse(a, LIKE)
                .meet(&Pattern::parse(b, LIKE))
                .unwrap()
                .instantiate("QQQ", "GG");
            for p in [a, b] {
                assert_eq!(
                    Pattern::parse(p, LIKE).matches_arn(&value, 'Q', &Budget::unlimited()),
                    Truth::True,
                    "{p} on {value}"
                );
            }
        }
    }

    #[test]
    fn arns_match_component_by_component() {
        let p = Pattern::parse("arn:aws:lex:*:111122223333:bot-alias/*", LIKE);
        assert_eq!(
            p.matches_arn(
                "arn:aws:lex:us-east-1:111122223333:bot-alias/B/A",
                'Q',
                &Budget::unlimited()
            ),
            Truth::True
        );
        assert_eq!(
            p.matches_arn(
                "arn:aws:lex:us-east-1:999999999999:bot-alias/B/A",
                'Q',
                &Budget::unlimited()
            ),
            Truth::False
        );
        let short = Pattern::parse("arn:aws:lex:*", LIKE);
        assert_eq!(
            short.matches_arn("arn:aws:lex:us-east-1:1:bot:A:B", 'Q', &Budget::unlimited()),
            Truth::True
        );
        let var = Pattern::parse("arn:aws:iam::${aws:PrincipalAccount}:role/*", LIKE);
        assert_eq!(var.arn_parts().map(|p| p.len()), Some(6));
        assert_eq!(
            var.matches_arn(
                "arn:aws:iam::111122223333:role/x",
                'Q',
                &Budget::unlimited()
            ),
            Truth::Unknown
        );
        assert_eq!(
            var.instantiate("QQ", "GG"),
            "arn:aws:iam::GG:role/QQ".to_owned()
        );
    }
}
