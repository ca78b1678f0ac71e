//! Shared bits of the benchmark binaries.

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

/// Messages of about `size` bytes, made by joining corpus lines (so they read like chat).
pub fn messages_of(lines: &[String], size: usize, count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let mut i = 0;
    for _ in 0..count {
        let mut m = String::new();
        while m.len() < size {
            if !m.is_empty() {
                m.push(' ');
            }
            m.push_str(&lines[i % lines.len()]);
            i += 7;
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
