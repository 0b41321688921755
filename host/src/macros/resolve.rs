//! Which macro a name in a post runs: the rule of docs/macros.md ("Which
//! macro runs"), in one pure function, with one wording for what it says.

use super::parser::Namespace;

/// What a name resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The built-in macro of that name.
    Builtin,
    /// The enabled Python macro of that name.
    Python,
    /// Nothing runs; the warning says why.
    Unresolved(Unresolved),
}

/// Why a name resolves to nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unresolved {
    /// `builtin:x` with no built-in `x`.
    NoBuiltin,
    /// `py:x` with no enabled Python macro `x`.
    NoPython,
    /// `x` with neither.
    Unknown,
}

impl Unresolved {
    /// The warning for a call of `name`.
    pub fn message(self, name: &str) -> String {
        match self {
            Unresolved::NoBuiltin => format!("no built-in macro `{name}`"),
            Unresolved::NoPython => format!("no enabled Python macro `{name}`"),
            Unresolved::Unknown => format!("unknown macro `{name}`"),
        }
    }
}

/// The enabled Python macro a name could run, as far as resolution cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PythonMacro {
    /// Its front matter says `overrides: builtin`.
    pub overrides_builtin: bool,
}

/// Resolve a call written with `namespace` (`builtin:`, `py:` or none),
/// when a built-in of its name exists or not and an enabled Python macro of
/// its name is `python`.
pub fn resolve(
    namespace: Option<Namespace>,
    builtin_exists: bool,
    python: Option<PythonMacro>,
) -> Resolved {
    match (namespace, builtin_exists, python) {
        (Some(Namespace::Builtin), true, _) => Resolved::Builtin,
        (Some(Namespace::Builtin), false, _) => Resolved::Unresolved(Unresolved::NoBuiltin),
        (Some(Namespace::Python), _, Some(_)) => Resolved::Python,
        (Some(Namespace::Python), _, None) => Resolved::Unresolved(Unresolved::NoPython),
        (None, true, Some(script)) if script.overrides_builtin => Resolved::Python,
        (None, true, _) => Resolved::Builtin,
        (None, false, Some(_)) => Resolved::Python,
        (None, false, None) => Resolved::Unresolved(Unresolved::Unknown),
    }
}

/// Whether an enabled Python macro is shadowed: a plain call of its name
/// runs the built-in instead.
pub fn is_shadowed(builtin_exists: bool, python: PythonMacro) -> bool {
    resolve(None, builtin_exists, Some(python)) == Resolved::Builtin
}

/// Whether a plain call of `script`'s name runs a built-in of `registry`
/// instead of it.
pub fn script_is_shadowed(
    script: &crate::scripts::Script,
    registry: &super::builtins::Registry,
) -> bool {
    script.kind == crate::scripts::ScriptKind::Macro
        && is_shadowed(
            registry.get(&script.name).is_some(),
            PythonMacro {
                overrides_builtin: script.overrides_builtin,
            },
        )
}

/// What `scripts list`, `scripts show` and `scripts check` say of a
/// shadowed script named `name`.
pub fn shadowed_message(name: &str) -> String {
    format!(
        "shadowed by the built-in macro `{name}`: call it as `py:{name}`, or declare \
         `overrides: builtin`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Option<PythonMacro> = Some(PythonMacro {
        overrides_builtin: false,
    });
    const OVERRIDING: Option<PythonMacro> = Some(PythonMacro {
        overrides_builtin: true,
    });

    /// The table of docs/macros.md, row by row ("any" expanded).
    #[test]
    fn every_row_of_the_documented_table() {
        use Resolved::{Builtin, Python};
        use Unresolved::{NoBuiltin, NoPython, Unknown};
        let none = |why| Resolved::Unresolved(why);
        let b = Some(Namespace::Builtin);
        let py = Some(Namespace::Python);
        let rows: [(Option<Namespace>, bool, Option<PythonMacro>, Resolved); 14] = [
            // `x`: built-in only, Python only, both, both with override, neither.
            (None, true, None, Builtin),
            (None, false, PLAIN, Python),
            (None, true, PLAIN, Builtin),
            (None, true, OVERRIDING, Python),
            (None, false, None, none(Unknown)),
            // `builtin:x`: built-in exists (any Python), or not.
            (b, true, None, Builtin),
            (b, true, PLAIN, Builtin),
            (b, true, OVERRIDING, Builtin),
            (b, false, PLAIN, none(NoBuiltin)),
            (b, false, None, none(NoBuiltin)),
            // `py:x`: an enabled Python macro (any built-in), or none.
            (py, true, PLAIN, Python),
            (py, false, OVERRIDING, Python),
            (py, true, None, none(NoPython)),
            (py, false, None, none(NoPython)),
        ];
        for (namespace, builtin, python, want) in rows {
            assert_eq!(
                resolve(namespace, builtin, python),
                want,
                "{namespace:?} builtin={builtin} python={python:?}"
            );
        }
    }

    #[test]
    fn shadowing_and_messages() {
        assert!(is_shadowed(true, PLAIN.unwrap()));
        assert!(!is_shadowed(true, OVERRIDING.unwrap()));
        assert!(!is_shadowed(false, PLAIN.unwrap()));
        assert_eq!(Unresolved::Unknown.message("x"), "unknown macro `x`");
        assert_eq!(
            Unresolved::NoPython.message("x"),
            "no enabled Python macro `x`"
        );
        assert!(shadowed_message("kbd").contains("`py:kbd`"));
    }
}
