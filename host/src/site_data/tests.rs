use super::*;
use std::fs;

fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, text).unwrap();
    }
    dir
}

fn file_value<'a>(tree: &'a DataTree, path: &[&str]) -> &'a Value {
    match tree.get(path) {
        Some(Node::File { value, .. }) => value,
        other => panic!("{path:?}: {other:?}"),
    }
}

fn folder_keys<'a>(tree: &'a DataTree, path: &[&str]) -> Vec<&'a str> {
    match tree.get(path) {
        Some(Node::Folder(keys)) => keys,
        other => panic!("{path:?}: {other:?}"),
    }
}

fn printed(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn each_format_is_read_into_one_nested_tree() {
    let dir = site(&[
        ("data/books/dune.json", r#"{"title": "Dune", "year": 1965}"#),
        ("data/books/emma.yaml", "title: Emma\ntags: [novel]\n"),
        (
            "data/books/ubik.yml",
            "title: Ubik\n1969: first\nscore: .nan\n",
        ),
        (
            "data/site.toml",
            "name = \"x\"\nratio = 0.5\nodd = nan\n[owner]\nnames = [\"a\", \"b\"]\n",
        ),
        (
            "data/people.csv",
            "name,city\nAda,London\nGrace,\"New York\"\n",
        ),
        ("data/numbers.csv", "\u{feff}n\n007\n"),
        ("data/notes.txt", "not data"),
    ]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(
        file_value(&tree, &["books", "dune"]),
        &serde_json::json!({"title": "Dune", "year": 1965})
    );
    assert_eq!(
        file_value(&tree, &["books", "emma"]),
        &serde_json::json!({"title": "Emma", "tags": ["novel"]})
    );
    assert_eq!(
        file_value(&tree, &["books", "ubik"]),
        &serde_json::json!({"title": "Ubik", "1969": "first", "score": null}),
        "a number key is its text, a float JSON cannot hold is null"
    );
    assert_eq!(
        file_value(&tree, &["site"]),
        &serde_json::json!({"name": "x", "ratio": 0.5, "odd": null, "owner": {"names": ["a", "b"]}})
    );
    assert_eq!(
        file_value(&tree, &["people"]),
        &serde_json::json!([{"name": "Ada", "city": "London"}, {"name": "Grace", "city": "New York"}])
    );
    assert_eq!(
        file_value(&tree, &["numbers"]),
        &serde_json::json!([{"n": "007"}]),
        "CSV values stay text, and a byte-order mark is no part of the header"
    );
    assert!(matches!(
        tree.get(&["books", "dune"]),
        Some(Node::File {
            file: "data/books/dune.json",
            ..
        })
    ));
    assert_eq!(folder_keys(&tree, &["books"]), ["dune", "emma", "ubik"]);
    assert_eq!(
        folder_keys(&tree, &[]),
        ["books", "numbers", "people", "site"]
    );
    assert!(tree.get(&["notes"]).is_none());
    assert!(tree.get(&["books", "dune", "title"]).is_none());
    assert!(tree.get(&["books", "missing"]).is_none());
    assert!(!tree.is_empty());
    assert_eq!(
        tree.files(),
        [
            "data/books/dune.json",
            "data/books/emma.yaml",
            "data/books/ubik.yml",
            "data/numbers.csv",
            "data/people.csv",
            "data/site.toml",
        ]
    );
}

#[test]
fn toml_dates_and_times_are_their_text() {
    let dir = site(&[(
        "data/dates.toml",
        "when = 1979-05-27T07:32:00Z\nlocal = 1979-05-27T07:32:00\nday = 1979-05-27\n\
         time = 07:32:00\nlist = [2024-01-02]\n[inner]\nat = 2000-01-01T00:00:00+02:00\n",
    )]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let value = file_value(&tree, &["dates"]);
    assert_eq!(
        value,
        &serde_json::json!({
            "when": "1979-05-27T07:32:00Z",
            "local": "1979-05-27T07:32:00",
            "day": "1979-05-27",
            "time": "07:32:00",
            "list": ["2024-01-02"],
            "inner": {"at": "2000-01-01T00:00:00+02:00"},
        })
    );
    assert!(!value.to_string().contains("toml_private"), "{value}");
}

#[test]
fn no_data_folder_is_an_empty_root() {
    let dir = site(&[]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty() && tree.is_empty());
    assert!(folder_keys(&tree, &[]).is_empty());
    assert!(tree.files().is_empty());
    assert!(tree.get(&["anything"]).is_none());
    assert_eq!(tree.digest(), DataTree::default().digest());

    fs::create_dir(dir.path().join("data")).unwrap();
    let (empty, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty() && empty.is_empty());
    assert_eq!(
        empty.digest(),
        tree.digest(),
        "an empty data/ holds what no data/ holds"
    );
}

#[test]
fn broken_files_are_errors_at_their_line_and_column() {
    let dir = site(&[
        ("data/a.json", "{\n  \"x\": 1,\n  \"y\": ]\n}\n"),
        ("data/b.toml", "ok = 1\nbad = \n"),
        ("data/c.yaml", "a: 1\nb: [1, 2\n"),
        ("data/d.csv", "a,b\n1,2\n3,4,5\n"),
        ("data/f.json", "{\"a\": 1,\n"),
        ("data/g.toml", "a = 1\n  a = 2\n"),
        ("data/ok.json", "1"),
    ]);
    fs::write(dir.path().join("data/e.json"), b"{\"a\":\n \"\xff\"}").unwrap();
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files(), ["data/ok.json"], "broken files are left out");
    assert_eq!(
        printed(&diagnostics),
        [
            "data/a.json:3:8: error: invalid JSON: expected value",
            "data/b.toml:2:7: error: invalid TOML: string values must be quoted, expected literal string",
            "data/c.yaml:3:1: error: invalid YAML: did not find expected ',' or ']' at line 3 column 1, \
             while parsing a flow sequence at line 2 column 4",
            "data/d.csv:3:1: error: invalid CSV: this row has 3 fields, but the header has 2",
            "data/e.json:2:3: error: not valid UTF-8 (byte 8)",
            // serde_json's column 0: the end of the text, after a newline.
            "data/f.json:2: error: invalid JSON: EOF while parsing a value",
            "data/g.toml:2:3: error: invalid TOML: duplicate key",
        ]
    );
}

#[test]
fn a_yaml_key_that_is_no_string_is_an_error() {
    let dir = site(&[
        ("data/nested.yaml", "a:\n  b: 1\n  ~: 2\n"),
        ("data/top.yaml", "a: 1\n? [x]\n: 2\n"),
    ]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(tree.is_empty());
    assert_eq!(
        printed(&diagnostics),
        [
            // The parser places it at the mapping that holds the key.
            "data/nested.yaml:2:3: error: invalid YAML: a: a mapping key must be a string, found null",
            // The parser gives no place for an error in the top mapping.
            "data/top.yaml:1:1: error: invalid YAML: a mapping key must be a string, found [\"x\"]",
        ]
    );
}

#[test]
fn a_key_taken_twice_names_the_file_that_has_it() {
    let dir = site(&[("data/books.json", "[]"), ("data/books.toml", "a = 1")]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(
        printed(&diagnostics),
        [
            "data/books.toml: error: `books` is already the data of data/books.json; this file is left out"
        ]
    );
    assert!(matches!(
        tree.get(&["books"]),
        Some(Node::File {
            file: "data/books.json",
            ..
        })
    ));
    assert_eq!(tree.files(), ["data/books.json"]);

    let dir = site(&[
        ("data/books.json", "[]"),
        ("data/books/dune.json", "{}"),
        ("data/books/dune.yml", "a: 1"),
    ]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(
        printed(&diagnostics),
        [
            "data/books/dune.yml: error: `dune` is already the data of data/books/dune.json; \
             this file is left out",
            "data/books.json: error: `books` is already the folder data/books; this file is left out",
        ]
    );
    assert_eq!(folder_keys(&tree, &["books"]), ["dune"], "the folder wins");
    assert_eq!(tree.files(), ["data/books/dune.json"]);
}

#[test]
fn hidden_files_and_other_files_are_passed_over_silently() {
    let dir = site(&[
        ("data/.hidden.json", "{\"no\": 1}"),
        ("data/.git/config.toml", "no = 1"),
        ("data/.cache/x.json", "{"),
        ("data/readme.md", "# data"),
        ("data/books/cover.png", "png"),
        ("data/noext", "1"),
        ("data/ok.json", "1"),
    ]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(tree.files(), ["data/ok.json"]);
    assert_eq!(folder_keys(&tree, &[]), ["ok"]);
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_skipped_with_a_warning() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = site(&[("data/ok.json", "1")]);
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9");
    fs::write(
        dir.path().join("data").join(bad).with_extension("json"),
        "2",
    )
    .unwrap();
    fs::create_dir(dir.path().join("data").join(bad)).unwrap();
    fs::write(dir.path().join("data").join(bad).join("x.toml"), "a = 1").unwrap();
    fs::write(dir.path().join("data").join(bad).join("x.txt"), "not data").unwrap();
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files(), ["data/ok.json"]);
    let files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["data/caf\u{fffd}/x.toml", "data/caf\u{fffd}.json"]);
    assert!(
        diagnostics
            .iter()
            .all(|d| d.severity == crate::diagnostics::Severity::Warning
                && d.message.contains("not valid UTF-8")),
        "{diagnostics:?}"
    );
}

#[cfg(unix)]
#[test]
fn links_are_never_followed() {
    let secret = site(&[
        ("secret.json", r#"{"password": "hunter2"}"#),
        ("inner/more.json", r#"{"password": "hunter2"}"#),
    ]);
    let dir = site(&[("data/ok.json", "1")]);
    std::os::unix::fs::symlink(
        secret.path().join("secret.json"),
        dir.path().join("data/leak.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(secret.path(), dir.path().join("data/outside")).unwrap();
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files(), ["data/ok.json"]);
    assert_eq!(folder_keys(&tree, &[]), ["ok"]);
    assert_eq!(
        printed(&diagnostics),
        [
            "data/leak.json: warning: a symbolic link, which a build never follows; it is left out of the data",
            "data/outside: warning: a symbolic link, which a build never follows; it is left out of the data",
        ]
    );
    assert!(!format!("{tree:?}").contains("hunter2"));

    let linked = site(&[]);
    std::os::unix::fs::symlink(secret.path(), linked.path().join("data")).unwrap();
    let (tree, diagnostics) = DataTree::load(linked.path());
    assert!(tree.is_empty());
    assert!(folder_keys(&tree, &[]).is_empty());
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].file, "data");
    assert!(
        diagnostics[0].message.contains("symbolic link"),
        "{diagnostics:?}"
    );
    assert!(!format!("{tree:?}{diagnostics:?}").contains("hunter2"));
}

#[test]
fn a_file_past_the_cap_is_refused() {
    let big = format!(
        "[{}0]",
        "0,".repeat(usize::try_from(MAX_FILE_BYTES).unwrap() / 2)
    );
    let dir = site(&[("data/big.json", &big), ("data/small.json", "1")]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files(), ["data/small.json"]);
    assert_eq!(
        printed(&diagnostics),
        ["data/big.json: error: larger than the limit of 8 MiB; it is skipped"]
    );
}

#[test]
fn data_past_the_total_cap_is_refused() {
    let file_bytes = usize::try_from(MAX_FILE_BYTES).unwrap();
    let full = format!("0{}", " ".repeat(file_bytes - 1));
    let dir = site(&[("data/z.json", "1")]);
    let count = usize::try_from(MAX_TOTAL_BYTES / MAX_FILE_BYTES).unwrap();
    for i in 0..=count {
        fs::write(dir.path().join(format!("data/f{i:02}.json")), &full).unwrap();
    }
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files().len(), count, "{:?}", tree.files());
    let message = "error: the site's data passes 64 MiB with this file; it is left out";
    assert_eq!(
        printed(&diagnostics),
        [
            format!("data/f{count:02}.json: {message}"),
            format!("data/z.json: {message}"),
        ]
    );
}

#[test]
fn the_digest_follows_every_byte_and_nothing_else() {
    let dir = site(&[
        ("data/a.json", "1"),
        ("data/b/c.json", "2"),
        ("data/notes.txt", "x"),
    ]);
    let first = DataTree::load(dir.path()).0.digest().to_owned();
    assert_eq!(first.len(), 64, "SHA-256 in hex");
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(first, DataTree::load(dir.path()).0.digest());

    // What is not data, and the same bytes written again, change nothing.
    fs::write(dir.path().join("data/notes.txt"), "y").unwrap();
    fs::write(dir.path().join("data/.hidden.json"), "9").unwrap();
    fs::write(dir.path().join("data/b/c.json"), "2").unwrap();
    assert_eq!(first, DataTree::load(dir.path()).0.digest());

    fs::write(dir.path().join("data/b/c.json"), "3").unwrap();
    let changed = DataTree::load(dir.path()).0.digest().to_owned();
    assert_ne!(first, changed, "one byte changed");
    fs::write(dir.path().join("data/b/c.json"), "2").unwrap();
    assert_eq!(first, DataTree::load(dir.path()).0.digest(), "and back");

    fs::rename(
        dir.path().join("data/a.json"),
        dir.path().join("data/d.json"),
    )
    .unwrap();
    assert_ne!(
        first,
        DataTree::load(dir.path()).0.digest(),
        "the path counts too"
    );
}
