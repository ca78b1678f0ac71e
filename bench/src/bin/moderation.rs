//! Moderation engine throughput on one core: MB/s over the pt-BR chat corpus, µs per message at
//! 256 B and 2 KB, and the time to compile the rules (what a cold start pays).
//!
//!     cargo run --release -p balcao-bench --bin moderation
//!
//! `BALCAO_BENCH_ONLY=realistic|seller|adversarial` runs one mix, `BALCAO_BENCH_FULL=1` runs the
//! rules over whole messages without the prescan, for comparison.

use std::hint::black_box;
use std::time::Instant;

use balcao::moderation::{AccountRules, Engine, Scratch};
use balcao_bench::{clean_messages, conversation_messages, corpus_messages, messages_of};

/// Runs `f` (which processes `bytes` bytes in `items` items) five times; returns the best
/// (seconds per item, MB/s): the machine is shared, the minimum is the repeatable figure.
fn best_of_5(bytes: usize, items: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut best = f64::MAX;
    for _ in 0..runs() {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best / items as f64, bytes as f64 / best / 1e6)
}

/// `BALCAO_BENCH_BYTES` (default 40 MB) and `BALCAO_BENCH_RUNS` (default 5) shrink the work,
/// e.g. to count instructions under `valgrind --tool=callgrind`.
fn work_bytes() -> usize {
    std::env::var("BALCAO_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000_000)
}

fn runs() -> usize {
    std::env::var("BALCAO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// The core's clock while the benchmark runs, in GHz, so that MB/s can be read as cycles per
/// byte: a chain of dependent 64-bit multiplications, 3 cycles each on x86-64 cores (Intel since
/// Nehalem, AMD since Zen), best of 5 runs of 60 M cycles. Not measured on other architectures,
/// nor with `BALCAO_BENCH_RUNS=1` (under a profiler, where it would only add instructions).
fn clock_ghz() -> Option<f64> {
    if !cfg!(target_arch = "x86_64") || runs() == 1 {
        return None;
    }
    let n = 5_000_000u64;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut x = black_box(3u64);
        let t = Instant::now();
        for _ in 0..n {
            x = x.wrapping_mul(x);
            x = x.wrapping_mul(x);
            x = x.wrapping_mul(x);
            x = x.wrapping_mul(x);
        }
        black_box(x);
        best = best.min(t.elapsed().as_secs_f64());
    }
    Some(4.0 * 3.0 * n as f64 / best / 1e9)
}

/// The processor the figures were taken on, from `/proc/cpuinfo` (Linux): its model name and,
/// on x86-64, its family and model numbers (a VM's model name can be as bare as "AMD EPYC").
fn cpu() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let field = |key: &str| {
        info.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut line = field("model name")?;
    if let (Some(family), Some(model)) = (field("cpu family"), field("model")) {
        line.push_str(&format!(" (family {family}, model {model})"));
    }
    Some(line)
}

/// " (N cycles/byte)" for a throughput measured at `ghz`.
fn cycles(ghz: Option<f64>, mbs: f64) -> String {
    ghz.map(|g| format!(" ({:.1} cycles/byte)", g * 1e3 / mbs))
        .unwrap_or_default()
}

fn main() {
    // Rule compile time: the first build (cold caches) and the mean of many.
    let t = Instant::now();
    let engine = Engine::new();
    let first_compile = t.elapsed();
    let n = if runs() == 1 { 1 } else { 200 };
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
    let only = std::env::var("BALCAO_BENCH_ONLY").ok();
    // `BALCAO_BENCH_FULL=1`: the rules over whole messages, without the prescan (to compare).
    let full = std::env::var_os("BALCAO_BENCH_FULL").is_some();
    let rounds = if only.is_some() {
        1
    } else {
        (work_bytes() / bytes).max(1)
    };
    let mut found = 0usize;
    let (per_line, corpus_mbs) = best_of_5(bytes * rounds, corpus.len() * rounds, || {
        found = 0;
        for _ in 0..rounds {
            for m in &corpus {
                found += !engine
                    .check_with(black_box(m), Some(&account), &mut scratch)
                    .is_empty() as usize;
            }
        }
    });

    println!("moderation engine (one core, release build, best of 5 runs)");
    if let Some(c) = cpu() {
        println!("  cpu: {c}");
    }
    let ghz = clock_ghz();
    if let Some(g) = ghz {
        println!("  clock: {g:.2} GHz (dependent multiplications, measured before each mix)");
    }
    println!(
        "  rule compile: first {:.3} ms, mean of {n} {:.3} ms",
        first_compile.as_secs_f64() * 1e3,
        mean_compile.as_secs_f64() * 1e3
    );
    println!(
        "  corpus lines ({} messages, {} bytes, avg {} B): {:.0} MB/s{}, {:.2} µs/message ({} flagged)",
        corpus.len(),
        bytes,
        bytes / corpus.len(),
        corpus_mbs,
        cycles(ghz, corpus_mbs),
        per_line * 1e6,
        found / rounds
    );
    let clean = clean_messages();
    // The labelled corpus's clean lines are hard negatives (prices, order numbers, dates, codes
    // in every line), with one line in twenty carrying something to block.
    let hard: Vec<String> = corpus
        .iter()
        .enumerate()
        .filter(|(i, m)| clean.contains(m) || i % 20 == 0)
        .map(|(_, m)| m.clone())
        .collect();
    let conversation = conversation_messages();
    for (label, lines) in [
        ("realistic chat (bench/corpus/conversas.txt)", &conversation),
        ("seller jargon (corpus clean lines, 5% PII)", &hard),
        ("adversarial (corpus lines, 60% PII)", &corpus),
    ] {
        // `BALCAO_BENCH_ONLY=realistic` runs one mix (for a profiler).
        if only
            .as_ref()
            .is_some_and(|o| !label.starts_with(o.as_str()))
        {
            continue;
        }
        let ghz = clock_ghz();
        println!("  {label}, lines joined into messages:");
        for size in [256usize, 2048] {
            let msgs = messages_of(lines, size, 512);
            let total: usize = msgs.iter().map(String::len).sum();
            let rounds = (work_bytes() / total).max(1);
            let (per, mbs) = best_of_5(total * rounds, msgs.len() * rounds, || {
                for _ in 0..rounds {
                    for m in &msgs {
                        let m = black_box(m);
                        black_box(if full {
                            engine.check_full_with(m, Some(&account), &mut scratch)
                        } else {
                            engine.check_with(m, Some(&account), &mut scratch)
                        });
                    }
                }
            });
            println!(
                "    {size:>5} B messages: {:.2} µs/message, {mbs:.0} MB/s{}",
                per * 1e6,
                cycles(ghz, mbs)
            );
        }
    }
}
