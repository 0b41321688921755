//! The one-time compile of the sandbox, said on a terminal: it takes
//! seconds, once per machine and guest build, and a silent pause that long
//! looks like a hang.

use blogmark_runtime::{CompileObserver, CompileStage};
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A spinner while the sandbox compiles, when stderr is a terminal;
/// nothing otherwise (and nothing when it loads from cache).
pub(super) fn on_terminal() -> Option<CompileObserver> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);
    Some(CompileObserver(Arc::new(move |stage| {
        let mut spinner = spinner.lock().unwrap_or_else(|e| e.into_inner());
        match stage {
            CompileStage::Started => {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_message("Preparing the Python sandbox, once per machine…");
                bar.enable_steady_tick(Duration::from_millis(100));
                *spinner = Some(bar);
            }
            CompileStage::Finished => {
                if let Some(bar) = spinner.take() {
                    bar.finish_and_clear();
                    eprintln!(
                        "Prepared the Python sandbox in {:.1} s",
                        bar.elapsed().as_secs_f64()
                    );
                }
            }
        }
    })))
}
