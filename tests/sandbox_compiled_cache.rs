//! The compiled guest is cached on disk, keyed by component and engine
//! settings; an unusable cache file is compiled again, never trusted.

use blogmark_runtime::{Runtime, RuntimeConfig};

fn runtime(cache: &std::path::Path) -> Runtime {
    let mut config = RuntimeConfig::new(blogmark_e2e::guest());
    config.engine.cache_dir = Some(cache.to_path_buf());
    config.mode = blogmark_runtime::Mode::Inline;
    Runtime::new(config).expect("the runtime starts")
}

fn works(runtime: &Runtime) {
    let job = blogmark_e2e::macro_job(
        "bold",
        blogmark_e2e::TRIVIAL_MACRO,
        &[("text", serde_json::json!("x"))],
    );
    assert_eq!(
        runtime.run(job).unwrap().reply,
        blogmark_runtime::abi::Reply::Html("<b>x</b>".into())
    );
}

#[test]
fn compiled_once_then_loaded_and_recompiled_when_corrupt() {
    let cache = tempfile::tempdir().unwrap();
    let first = runtime(cache.path());
    let load = first.engine().load_report();
    assert!(!load.from_cache);
    assert_eq!(load.not_cached, None, "the compiled code is stored");
    works(&first);
    let (files, images): (Vec<_>, Vec<_>) = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .partition(|p| p.extension().is_some_and(|e| e == "cwasm"));
    assert_eq!(files.len(), 1, "{files:?}");
    // With reset in place, the guest's memory is kept apart from its code.
    let apart = first.engine().isolation().mode == blogmark_runtime::IsolationMode::Reset;
    assert_eq!(images.len(), usize::from(apart), "{images:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("guest-") && name.ends_with(".cwasm"),
        "{name}"
    );
    assert!(
        name.contains(first.engine().build_id()),
        "the key names the component and engine"
    );

    let second = runtime(cache.path());
    assert!(second.engine().load_report().from_cache);
    works(&second);

    // The loaded runtimes map the file: replace it (as a crashed writer or
    // another version might), never scribble on it in place.
    drop((first, second));
    let corrupt = cache.path().join("corrupt.tmp");
    std::fs::write(&corrupt, b"\x7fELF not really a compiled component").unwrap();
    std::fs::rename(&corrupt, &files[0]).unwrap();
    let third = runtime(cache.path());
    assert!(
        !third.engine().load_report().from_cache,
        "a corrupt file is compiled again"
    );
    assert_eq!(third.engine().load_report().not_cached, None);
    works(&third);
    assert!(
        std::fs::metadata(&files[0]).unwrap().len() > 1_000_000,
        "and replaced"
    );
}
