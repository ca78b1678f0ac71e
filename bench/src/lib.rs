//! Shared bits of the benchmark binaries.

/// The number after `name` on the command line (`--seconds 3`), or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The messages of the labelled moderation corpora (tuning and holdout), as chat text.
pub fn corpus_messages() -> Vec<String> {
    labelled().into_iter().map(|(_, t)| t).collect()
}

/// The buyer–seller conversation of `bench/corpus/conversas.txt`, one message per line: what
/// chat traffic looks like (mostly talk, some prices and sizes, few codes, rare contact attempts).
pub fn conversation_messages() -> Vec<String> {
    include_str!("../corpus/conversas.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Only the messages labelled clean ("-"): what most chat traffic looks like.
pub fn clean_messages() -> Vec<String> {
    labelled()
        .into_iter()
        .filter(|(tags, _)| tags == "-")
        .map(|(_, t)| t)
        .collect()
}

fn labelled() -> Vec<(String, String)> {
    let raw = [
        include_str!("../../tests/corpus/moderation.tsv"),
        include_str!("../../tests/corpus/moderation-holdout.tsv"),
    ];
    raw.iter()
        .flat_map(|f| f.lines())
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once('\t')
                .map(|(tags, t)| (tags.to_owned(), t.replace("\\n", "\n")))
        })
        .collect()
}

/// Messages of about `size` bytes, made by joining corpus lines (so they read like chat): the
/// lines are taken in a stride through the corpus, so neighbouring lines rarely meet.
pub fn messages_of(lines: &[String], size: usize, count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let mut i = 0;
    // A stride that shares no factor with the number of lines visits every line (7 alone
    // visited a seventh of a corpus of 154 lines). Any `n` numbers in a row hold one that is 1
    // modulo `n`, so the search ends within `n` steps (an empty corpus still panics below).
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let stride = (7..)
        .take(lines.len())
        .find(|s| gcd(*s, lines.len()) == 1)
        .unwrap_or(1);
    for _ in 0..count {
        let mut m = String::new();
        while m.len() < size {
            if !m.is_empty() {
                m.push(' ');
            }
            m.push_str(&lines[i % lines.len()]);
            i += stride;
        }
        let mut cut = size.min(m.len());
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
        out.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the corpus ends up in the messages, whatever its number of lines.
    #[test]
    fn messages_use_every_line() {
        for n in [154, 140, 7, 1, 22, 153] {
            let lines: Vec<String> = (0..n).map(|i| format!("<{i}>")).collect();
            let joined = messages_of(&lines, 2048, 4).join(" ");
            for l in &lines {
                assert!(joined.contains(l.as_str()), "{n} lines: {l} missing");
            }
        }
    }
}
