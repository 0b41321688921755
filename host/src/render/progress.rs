//! The render's progress bar.

/// A bar over `len` pages, drawn only when `enabled` (on a terminal).
pub(super) fn progress_bar(enabled: bool, len: usize) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} rendering {pos}/{len} pages {wide_bar} {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}
