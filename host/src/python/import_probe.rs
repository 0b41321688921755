//! Proving that a package imports in the sandbox: `host python lock` keeps
//! a wheel with compiled extensions (MarkupSafe, PyYAML) only if its Python
//! files, vendored without those extensions, import there. Nothing runs on
//! the host: the import runs in the same sandbox as a script, under the
//! site's limits.

use super::modules::SiteModules;
use super::session::Session;
use super::settings::Settings;
use blogmark_runtime::abi::{MacroCall, Operation, Reply, Request, Script};
use blogmark_runtime::{Failure, Job};
use std::path::Path;
use std::sync::Arc;

/// Import each of `modules` in one sandbox call, with `staging` (a folder
/// laid out as a site: its `scripts/vendor/`) as the site's packages and
/// the limits of the site at `site`; the first failure, as a line.
pub fn prove_imports(site: &Path, staging: &Path, modules: &[String]) -> Result<(), String> {
    let mut settings = Settings::for_command(site);
    settings.modules = Arc::new(SiteModules::unverified(staging));
    settings.snapshot = false;
    let session = Session::for_one_off(settings);
    let names = serde_json::to_string(modules).expect("names serialize");
    let source = format!(
        "import importlib\n\nNAMES = {names}\n\n\
         def render(ctx):\n    for name in NAMES:\n        importlib.import_module(name)\n    \
         return 'imported'\n"
    );
    let script = Script {
        slug: "import_probe".into(),
        entrypoint: "render".into(),
        path: "<import probe>".into(),
        source,
        code: None,
        preloaded: None,
    };
    let request = Request::new(
        script,
        Operation::Macro {
            call: MacroCall {
                name: "import_probe".into(),
                ..MacroCall::default()
            },
            page: None,
            site: Default::default(),
        },
    );
    match session.run_job(Job::new(request)) {
        Ok(Reply::Html(_)) => Ok(()),
        Ok(other) => Err(format!("the import answered {other:?}")),
        Err(Failure::GuestError(error)) => Err(format!("{}: {}", error.type_name, error.message)),
        Err(failure) => Err(failure.to_string()),
    }
}
