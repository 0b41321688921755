//! `[python] dependencies` entries, checked as PEP 508 requirements before
//! they reach pip's command line.
//!
//! site.toml may come from someone else's commit, and pip reads an argument
//! that starts with `-` as an option (`--no-binary=:all:` lets it build,
//! that is run, a source archive's `setup.py`; `-r/etc/x` reads a host
//! file), and a direct reference (`name @ file:///…`) as a place to take a
//! package from. An entry is a name, extras, version specifiers and
//! markers, nothing else; pip also gets `--` before the entries.

/// Why `spec` is not a plain PEP 508 requirement (a name, `[extras]`,
/// version specifiers, `; markers`), if it is not one.
pub fn check(spec: &str) -> Result<(), String> {
    let (requirement, markers) = match spec.split_once(';') {
        Some((requirement, markers)) => (requirement, Some(markers)),
        None => (spec, None),
    };
    let rest = requirement.trim_start();
    if rest.starts_with('-') {
        return Err("an option, not a requirement: options are the host's to choose".into());
    }
    if spec.contains('@') {
        return Err(
            "a direct reference (`name @ URL`): packages come from the index or `--find-links`"
                .into(),
        );
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if !is_name(name) {
        return Err("it does not start with a package name".into());
    }
    let mut rest = rest[name_len..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let (extras, after) = after
            .split_once(']')
            .ok_or("its `[extras]` are not closed")?;
        for extra in extras.split(',').map(str::trim) {
            if !is_name(extra) {
                return Err(format!("`{extra}` is not the name of an extra"));
            }
        }
        rest = after.trim_start();
    }
    let specifiers = rest
        .strip_prefix('(')
        .map(|inner| {
            inner
                .trim_end()
                .strip_suffix(')')
                .ok_or("a `(` is not closed")
        })
        .transpose()?
        .unwrap_or(rest)
        .trim();
    if !specifiers.is_empty() {
        for specifier in specifiers.split(',') {
            check_specifier(specifier.trim())?;
        }
    }
    if let Some(markers) = markers {
        check_markers(markers)?;
    }
    Ok(())
}

/// PEP 508's name: letters and digits, with `.`, `_`, `-` inside.
fn is_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// One PEP 440 version specifier: an operator, then a version.
fn check_specifier(specifier: &str) -> Result<(), String> {
    const OPERATORS: [&str; 8] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];
    let (operator, version) = OPERATORS
        .iter()
        .find_map(|op| specifier.strip_prefix(op).map(|v| (*op, v.trim())))
        .ok_or_else(|| format!("`{specifier}` is not a version specifier (`==1.2`, `>=3`)"))?;
    let valid = !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{version}` is not a version (after `{operator}`)"))
    }
}

/// Markers hold variables, quoted strings, comparisons, `and`, `or` and
/// parentheses: no character that could be anything else.
fn check_markers(markers: &str) -> Result<(), String> {
    if markers.chars().any(char::is_control) {
        return Err("the markers hold a control character".into());
    }
    let mut quote = None;
    for c in markers.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_ascii_alphanumeric()
                || c == ' '
                || c == '\t'
                || matches!(c, '_' | '.' | '<' | '>' | '=' | '!' | '~' | '(' | ')') => {}
            None => return Err(format!("the markers hold `{}`", c.escape_default())),
        }
    }
    match quote {
        None => Ok(()),
        Some(_) => Err("a quoted string of the markers is not closed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn plain_requirements_pass() {
        for spec in [
            "markdown",
            "Markdown==3.7",
            "python-dateutil >= 2.8, <3",
            "requests[socks, security]~=2.31",
            "zope.interface (>=5)",
            "pyyaml==6.0.*",
            "tomli; python_version < \"3.11\"",
            "colorama ; sys_platform == 'win32' and (python_version >= '3.8')",
            "foo===1.0+local.7",
        ] {
            assert_eq!(check(spec), Ok(()), "{spec}");
        }
    }

    #[test]
    fn options_urls_and_anything_else_are_refused() {
        for (spec, why) in [
            ("--no-deps", "an option"),
            ("--no-binary=:all:", "an option"),
            ("  -r/etc/hostname", "an option"),
            ("-e.", "an option"),
            ("evil @ file:///tmp/evil.tar.gz", "direct reference"),
            ("evil@https://x.example/e.whl", "direct reference"),
            ("./evil", "package name"),
            ("/tmp/evil.whl", "package name"),
            ("https://x.example/e.whl", "version specifier"),
            ("", "package name"),
            ("name\0", "version specifier"),
            ("a==1 --no-deps", "not a version"),
            ("a==1\n--index-url=http://x", "not a version"),
            ("a[b", "not closed"),
            ("a[--x]", "extra"),
            ("a; python_version < '3' | x", "markers hold `|`"),
            ("a; python_version < '3' $(x)", "markers hold `$`"),
            ("a; python_version < '3.1\0'", "control character"),
            ("a; python_version < '3.1", "not closed"),
        ] {
            let err = check(spec).expect_err(spec);
            assert!(err.contains(why), "{spec:?}: {err}");
        }
    }
}
