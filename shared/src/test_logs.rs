//! Log capture for unit tests: the production log format, written to a buffer.

use std::future::Future;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub(crate) struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buf) = self.0.lock() {
            buf.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Lines {
        self.clone()
    }
}

/// Runs `work` on a current-thread runtime under the production log format; returns its result
/// and every line it logged, parsed.
pub(crate) fn capture<F, Fut>(work: F) -> (Fut::Output, Vec<serde_json::Value>)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let out = Lines::default();
    let subscriber =
        crate::config::log_subscriber(tracing_subscriber::EnvFilter::new("info"), out.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let res = tracing::subscriber::with_default(subscriber, || rt.block_on(work()));
    let text =
        String::from_utf8(out.0.lock().map(|b| b.clone()).unwrap_or_default()).expect("UTF-8 logs");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (res, lines)
}
