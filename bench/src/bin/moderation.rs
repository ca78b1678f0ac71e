//! Moderation engine throughput on one core: MB/s over the pt-BR chat corpus, µs per message at
//! 256 B and 2 KB, and the time to compile the rules (what a cold start pays).
//!
//!     cargo run --release -p balcao-bench --bin moderation

use std::hint::black_box;
use std::time::Instant;

use balcao::moderation::{AccountRules, Engine, Scratch};
use balcao_bench::{corpus_messages, messages_of};

fn main() {
    // Rule compile time: the first build (cold caches) and the mean of many.
    let t = Instant::now();
    let engine = Engine::new();
    let first_compile = t.elapsed();
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        black_box(Engine::new());
    }
    let mean_compile = t.elapsed() / n;
    let account = AccountRules::new(&["concorrente".into()], &["lojademo.com.br".into()]);
    let mut scratch = Scratch::default();

    // Throughput over the corpus as written (short chat lines, many of them PII).
    let corpus = corpus_messages();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let rounds = (200_000_000 / bytes).max(1);
    let t = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for m in &corpus {
            found += !engine
                .check_with(black_box(m), Some(&account), &mut scratch)
                .is_empty() as usize;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let corpus_mbs = (bytes * rounds) as f64 / secs / 1e6;
    let per_line_us = secs * 1e6 / (corpus.len() * rounds) as f64;

    println!("moderation engine (one core, release build)");
    println!(
        "  rule compile: first {:.3} ms, mean of {n} {:.3} ms",
        first_compile.as_secs_f64() * 1e3,
        mean_compile.as_secs_f64() * 1e3
    );
    println!(
        "  corpus ({} messages, {} bytes, avg {} B): {:.0} MB/s, {:.2} µs/message ({} flagged per round)",
        corpus.len(),
        bytes,
        bytes / corpus.len(),
        corpus_mbs,
        per_line_us,
        found / rounds
    );
    for size in [256usize, 2048] {
        let msgs = messages_of(size, 512);
        let total: usize = msgs.iter().map(String::len).sum();
        let rounds = (200_000_000 / total).max(1);
        let t = Instant::now();
        for _ in 0..rounds {
            for m in &msgs {
                black_box(engine.check_with(black_box(m), Some(&account), &mut scratch));
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "  {size:>5} B messages: {:.2} µs/message, {:.0} MB/s",
            secs * 1e6 / (msgs.len() * rounds) as f64,
            (total * rounds) as f64 / secs / 1e6
        );
    }
}
