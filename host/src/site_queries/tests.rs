use super::*;
use std::collections::BTreeMap;

fn summary(slug: &str, section: &'static str, date: Option<&str>, tags: &[&str]) -> Summary {
    Summary {
        path: format!("content/{section}/{slug}.md"),
        slug: slug.into(),
        section,
        title: slug.to_uppercase(),
        url: format!("https://example.org/{section}/{slug}/"),
        date: date.map(str::to_owned),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        taxonomies: BTreeMap::from([(
            "series".to_owned(),
            if slug == "b" {
                vec!["intro".to_owned()]
            } else {
                Vec::new()
            },
        )]),
        summary: None,
        extra: serde_json::Map::new(),
        resources: Vec::new(),
        timestamp: date.map(|d| format!("{d}T12:00:00Z").parse().unwrap()),
    }
}

fn site() -> SiteQueries {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/books")).unwrap();
    std::fs::write(dir.path().join("data/books/dune.json"), r#"{"year": 1965}"#).unwrap();
    let (data, _) = DataTree::load(dir.path());
    SiteQueries::new(
        Arc::new(data),
        vec![
            summary("c", "posts", Some("2024-03-01"), &["rust"]),
            summary("b", "posts", Some("2024-02-01"), &["rust", "wasm"]),
            summary("a", "posts", None, &["wasm"]),
            summary("about", "pages", None, &[]),
        ],
        "https://example.org/".into(),
    )
}

fn slugs(answer: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(answer).unwrap();
    value["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn pages_filter_sort_and_limit() {
    let site = site();
    let ask = |q: &str| slugs(&site.answer(q).unwrap());
    assert_eq!(ask(r#"{"pages": {}}"#), ["c", "b", "about", "a"]);
    assert_eq!(ask(r#"{"pages": {"section": "posts"}}"#), ["c", "b", "a"]);
    assert_eq!(ask(r#"{"pages": {"tag": "rust", "limit": 1}}"#), ["c"]);
    assert_eq!(
        ask(r#"{"pages": {"section": "posts", "reverse": false}}"#),
        ["a", "b", "c"],
        "oldest first, undated first"
    );
    assert_eq!(
        ask(r#"{"pages": {"sort": "title"}}"#),
        ["a", "about", "b", "c"],
        "A to Z unless reversed"
    );
    assert_eq!(
        ask(r#"{"pages": {"sort": "title", "reverse": true}}"#),
        ["c", "b", "about", "a"]
    );
    assert_eq!(
        ask(r#"{"pages": {"taxonomy": "series", "term": "intro"}}"#),
        ["b"]
    );
    // Asked again, by a built-in this time: the same pages, kept once for
    // the seven distinct filters.
    let filter: Filter = serde_json::from_str(r#"{"tag": "rust", "limit": 1}"#).unwrap();
    for _ in 0..2 {
        let slugs: Vec<&str> = site
            .pages(&filter)
            .iter()
            .map(|p| p.slug.as_str())
            .collect();
        assert_eq!(slugs, ["c"]);
    }
    assert_eq!(lock(&site.matched).by_question.len(), 7);
}

#[test]
fn a_page_by_path_url_or_slug() {
    let site = site();
    for name in [
        "content/posts/b.md",
        "https://example.org/posts/b/",
        "/posts/b/",
        "b",
    ] {
        let answer: Value =
            serde_json::from_str(&site.answer(&Question::Page(name.into()).text()).unwrap())
                .unwrap();
        assert_eq!(answer["page"]["slug"], "b", "{name}");
    }
    let none = site.answer(r#"{"page": "nowhere"}"#).unwrap();
    assert_eq!(none, r#"{"page":null}"#);
}

#[test]
fn a_name_several_pages_answer_to_is_a_posts_first_then_the_first_in_build_order() {
    let mut older = summary("twin", "posts", Some("2023-01-01"), &[]);
    older.path = "content/posts/2023/twin.md".into();
    older.url = "https://example.org/posts/2023/twin/".into();
    older.title = "Older twin".into();
    let mut slug_is_a_path = summary("odd", "posts", None, &[]);
    slug_is_a_path.slug = "content/posts/twin.md".into();
    let site = SiteQueries::new(
        Arc::default(),
        vec![
            // A page first in build order does not win over a post.
            summary("twin", "pages", None, &[]),
            summary("twin", "posts", Some("2024-01-01"), &[]),
            older,
            slug_is_a_path,
        ],
        "https://example.org".into(),
    );
    let title = |name: &str| site.page(name).map(|p| p.title.clone());
    assert_eq!(title("twin").as_deref(), Some("TWIN"));
    assert_eq!(
        title("content/posts/2023/twin.md").as_deref(),
        Some("Older twin")
    );
    assert_eq!(title("/posts/2023/twin/").as_deref(), Some("Older twin"));
    // As Hugo names files, from the content folder.
    assert_eq!(title("posts/2023/twin.md").as_deref(), Some("Older twin"));
    assert_eq!(title("/posts/2023/twin.md").as_deref(), Some("Older twin"));
    assert_eq!(title("/twin"), None);
    // A name that is one page's path and another's slug: the first in
    // build order, by whichever name.
    assert_eq!(title("content/posts/twin.md").as_deref(), Some("TWIN"));
    assert_eq!(title("content/pages/twin.md").as_deref(), Some("TWIN"));
    assert_eq!(
        site.page("content/pages/twin.md").map(|p| p.section),
        Some("pages")
    );
    assert_eq!(title("twin/"), None);
}

#[test]
fn data_answers_a_file_a_folder_or_nothing() {
    let site = site();
    assert_eq!(
        site.answer(r#"{"data": ["books", "dune"]}"#).unwrap(),
        r#"{"value":{"year":1965}}"#
    );
    assert_eq!(
        site.answer(r#"{"data": ["books"]}"#).unwrap(),
        r#"{"folder":true}"#,
        "a folder's answer does not change when a file is added to it"
    );
    assert_eq!(
        site.answer(r#"{"keys": ["books"]}"#).unwrap(),
        r#"{"keys":["dune"]}"#
    );
    assert_eq!(
        site.answer(r#"{"keys": ["books", "dune"]}"#).unwrap(),
        r#"{"missing":true}"#
    );
    assert_eq!(
        site.answer(r#"{"data": ["books", "dune", "year"]}"#)
            .unwrap(),
        r#"{"missing":true}"#
    );
    assert_eq!(
        site.answer(r#"{"data": ["..", "etc"]}"#).unwrap(),
        r#"{"missing":true}"#,
        "keys name nothing on disk"
    );
}

/// The questions of a site with only these data files (path, text).
fn data_site(files: &[(&str, &str)]) -> SiteQueries {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let (data, _) = DataTree::load(dir.path());
    SiteQueries::new(Arc::new(data), Vec::new(), String::new())
}

#[test]
fn entries_answer_a_whole_folder_in_one_document() {
    let site = data_site(&[
        ("data/books/dune.json", r#"{"year": 1965}"#),
        ("data/books/emma.toml", "year = 1815\n"),
        ("data/books/series/a.json", "1"),
        ("data/top.json", "2"),
    ]);
    assert_eq!(
        site.answer(r#"{"entries": ["books"]}"#).unwrap(),
        r#"{"files":{"dune":{"year":1965},"emma":{"year":1815}},"folders":["series"]}"#,
        "a folder inside says only that it is one"
    );
    assert_eq!(
        site.answer(r#"{"entries": []}"#).unwrap(),
        r#"{"files":{"top":2},"folders":["books"]}"#
    );
    for missing in [r#"["books", "dune"]"#, r#"["nope"]"#, r#"["..", "etc"]"#] {
        assert_eq!(
            site.answer(&format!(r#"{{"entries": {missing}}}"#))
                .unwrap(),
            r#"{"missing":true}"#,
            "{missing}"
        );
    }
}

#[test]
fn entries_past_a_call_s_input_limit_are_refused_unmade() {
    let mega = format!("\"{}\"", "x".repeat(1 << 20));
    let files: Vec<(String, &str)> = (0..5)
        .map(|i| (format!("data/big/{i}.json"), mega.as_str()))
        .collect();
    let named = |n: usize| -> Vec<(&str, &str)> {
        files[..n].iter().map(|(p, t)| (p.as_str(), *t)).collect()
    };
    let site = data_site(&named(5));
    let refused = site.answer(r#"{"entries": ["big"]}"#).unwrap_err();
    assert!(
        refused.contains("larger than a call's input limit"),
        "{refused}"
    );
    // Each file alone is still read.
    assert_eq!(
        site.answer(r#"{"data": ["big", "4"]}"#).unwrap().len(),
        mega.len() + r#"{"value":}"#.len()
    );
    // Three fit.
    let site = data_site(&named(3));
    assert!(site.answer(r#"{"entries": ["big"]}"#).unwrap().len() > 3 << 20);
}

#[test]
fn a_question_the_host_does_not_know_is_refused() {
    let site = site();
    for question in [
        "not json",
        r#"{"files": ["/etc/passwd"]}"#,
        r#"{"pages": {"sort": "random"}}"#,
        r#"{"pages": {"tag": 3}}"#,
        r#"{"pages": {}, "data": []}"#,
        r#"{"pages": {"taxonomy": "series"}}"#,
        r#"{"entries": "books"}"#,
        r#"{"entries": [1]}"#,
        r#"{"entries": ["books"], "keys": ["books"]}"#,
    ] {
        let refused = site.answer(question).unwrap_err();
        assert!(
            refused.contains("does not understand"),
            "{question}: {refused}"
        );
    }
}

#[test]
fn a_digest_is_the_runtime_s_digest_of_the_answer() {
    let site = site();
    let question = r#"{"data": ["books"]}"#;
    assert_eq!(
        site.digest(question),
        blogmark_runtime::answer_digest(&site.answer(question))
    );
    assert_ne!(site.digest(question), site.digest(r#"{"keys": ["books"]}"#));
}
