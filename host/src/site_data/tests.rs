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

#[test]
fn each_format_is_read_into_one_nested_tree() {
    let dir = site(&[
        ("data/books/dune.json", r#"{"title": "Dune", "year": 1965}"#),
        ("data/books/emma.yaml", "title: Emma\ntags: [novel]\n"),
        (
            "data/site.toml",
            "name = \"x\"\nwhen = 1979-05-27T07:32:00Z\n",
        ),
        (
            "data/people.csv",
            "name,city\nAda,London\nGrace,\"New York\"\n",
        ),
        ("data/notes.txt", "not data"),
    ]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(file_value(&tree, &["books", "dune"])["year"], 1965);
    assert_eq!(file_value(&tree, &["books", "emma"])["tags"][0], "novel");
    assert_eq!(
        file_value(&tree, &["site"])["when"],
        "1979-05-27T07:32:00Z",
        "a TOML date is its text"
    );
    assert_eq!(
        file_value(&tree, &["people"]),
        &serde_json::json!([{"name": "Ada", "city": "London"}, {"name": "Grace", "city": "New York"}])
    );
    match tree.get(&["books"]) {
        Some(Node::Folder(keys)) => assert_eq!(keys, ["dune", "emma"]),
        other => panic!("{other:?}"),
    }
    match tree.get(&[]) {
        Some(Node::Folder(keys)) => assert_eq!(keys, ["books", "people", "site"]),
        other => panic!("{other:?}"),
    }
    assert!(tree.get(&["notes"]).is_none());
    assert!(tree.get(&["books", "dune", "title"]).is_none());
    assert_eq!(tree.files().len(), 4);
}

#[test]
fn no_data_folder_is_an_empty_root() {
    let dir = site(&[]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(diagnostics.is_empty() && tree.is_empty());
    assert!(matches!(tree.get(&[]), Some(Node::Folder(keys)) if keys.is_empty()));
}

#[test]
fn broken_files_are_errors_at_their_line_and_column() {
    let dir = site(&[
        ("data/a.json", "{\n  \"x\": 1,\n  \"y\": ]\n}\n"),
        ("data/b.toml", "ok = 1\nbad = \n"),
        ("data/c.yaml", "a: 1\nb: [1, 2\n"),
        ("data/d.csv", "a,b\n1,2\n3,4,5\n"),
        ("data/e.json", "\u{0}\u{ff}"),
    ]);
    fs::write(dir.path().join("data/e.json"), [b'{', 0xff, b'}']).unwrap();
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert!(tree.is_empty(), "broken files are left out");
    let printed: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        printed[0].starts_with("data/a.json:3:8: error: invalid JSON: expected value"),
        "{printed:?}"
    );
    assert!(
        printed[1].starts_with("data/b.toml:2:7: error: invalid TOML"),
        "{printed:?}"
    );
    assert!(
        printed[2].starts_with("data/c.yaml:3:1: error: invalid YAML"),
        "{printed:?}"
    );
    assert!(
        printed[3].starts_with("data/d.csv:3:1: error: invalid CSV"),
        "{printed:?}"
    );
    assert!(
        printed[4].starts_with("data/e.json:1:2: error: not valid UTF-8"),
        "{printed:?}"
    );
}

#[test]
fn a_key_taken_twice_names_the_file_that_has_it() {
    let dir = site(&[("data/books.json", "[]"), ("data/books.toml", "a = 1")]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    let printed: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
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

    let dir = site(&[("data/books.json", "[]"), ("data/books/dune.json", "{}")]);
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(
        diagnostics[0].message.contains("already a folder"),
        "{diagnostics:?}"
    );
    assert!(
        matches!(tree.get(&["books"]), Some(Node::Folder(_))),
        "the folder wins"
    );
}

#[cfg(unix)]
#[test]
fn links_are_never_followed() {
    let secret = site(&[("secret.json", r#"{"password": "hunter2"}"#)]);
    let dir = site(&[("data/ok.json", "1")]);
    std::os::unix::fs::symlink(
        secret.path().join("secret.json"),
        dir.path().join("data/leak.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(secret.path(), dir.path().join("data/outside")).unwrap();
    let (tree, diagnostics) = DataTree::load(dir.path());
    assert_eq!(tree.files(), ["data/ok.json"]);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert!(!format!("{tree:?}").contains("hunter2"));

    let linked = site(&[]);
    std::os::unix::fs::symlink(secret.path(), linked.path().join("data")).unwrap();
    let (tree, diagnostics) = DataTree::load(linked.path());
    assert!(tree.is_empty());
    assert!(
        diagnostics[0].message.contains("symbolic link"),
        "{diagnostics:?}"
    );
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
    assert!(
        diagnostics[0].message.contains("larger than the limit"),
        "{diagnostics:?}"
    );
}

#[test]
fn the_digest_follows_every_byte() {
    let dir = site(&[("data/a.json", "1"), ("data/b.json", "2")]);
    let first = DataTree::load(dir.path()).0.digest().to_owned();
    assert_eq!(first, DataTree::load(dir.path()).0.digest());
    fs::write(dir.path().join("data/b.json"), "3").unwrap();
    assert_ne!(first, DataTree::load(dir.path()).0.digest());
}
