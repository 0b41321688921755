//! The scripts workbench in a real browser (headless Chromium through
//! WebDriver): open a post, open the workbench beside it, edit the post's
//! macro, see the check mark a broken line, run it, save, and see the
//! post's page reload with the new output. Screenshots of each step are
//! written under the target folder (docs/serve.md shows them).

use crate::common;

use common::browser::Browser;
use common::server::Server;
use fantoccini::Locator;

const SHOUT: &str = r#""""
---
kind: macro
name: shout
description: Loud text.
---
"""
import html


def render(ctx):
    text = str(ctx.args.get("text", ""))
    print("shouting", text)
    return f'<b class="shout">{html.escape(text.upper())}</b>'
"#;

/// Where the screenshots go.
fn shots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("workbench-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Put `text` in the editor as a paste would, then type `typed` with real
/// key events at its end.
const SET_TEXT: &str = r#"
const area = document.getElementById("text");
area.focus();
area.value = arguments[0];
area.setSelectionRange(area.value.length, area.value.length);
area.dispatchEvent(new Event("input", { bubbles: true }));
"#;

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one author's session in the browser, step by step"
)]
fn in_a_browser_an_edited_macro_is_checked_run_saved_and_its_post_reloads() {
    let site = common::site("");
    common::write(site.path(), "scripts/shout.py", SHOUT);
    common::write(
        site.path(),
        "content/posts/hello.md",
        "---\ntitle: Hello\ndate: 2024-01-02\n---\nSay {{< shout text=\"hi there\" >}} to all.\n",
    );
    common::write(
        site.path(),
        "content/posts/quiet.md",
        "---\ntitle: Quiet\ndate: 2024-01-01\n---\nNo macro here.\n",
    );
    let server = Server::start(site.path());
    let shots = shots();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = Browser::start(1400, 860).await;
        let c = &browser.client;
        c.goto(&format!("{}posts/hello/", server.base)).await.unwrap();
        browser
            .wait_for("document.querySelector('b.shout')?.textContent === 'HI THERE'")
            .await;
        // Gone after a reload: proves the page reloaded, not just changed.
        c.execute("window.blogmarkTestMark = 1;", vec![]).await.unwrap();
        let post_window = c.window().await.unwrap();
        // A page that does not call the macro: it must not reload.
        let quiet = c.new_window(false).await.unwrap();
        c.switch_to_window(quiet.handle.clone()).await.unwrap();
        c.goto(&format!("{}posts/quiet/", server.base)).await.unwrap();
        browser.wait_for("document.body.textContent.includes('No macro here.')").await;
        c.execute("window.blogmarkTestMark = 1;", vec![]).await.unwrap();

        // A window of its own: a page in a background tab may be frozen.
        let workbench = c.new_window(false).await.unwrap();
        c.switch_to_window(workbench.handle).await.unwrap();
        c.goto(&format!("{}_blogmark/scripts#shout", server.base))
            .await
            .unwrap();
        browser
            .wait_for("document.getElementById('text').value.includes('upper()')")
            .await;
        browser
            .wait_for("document.getElementById('check').textContent.startsWith('ok: macro `shout`')")
            .await;
        let listed = browser
            .eval("document.querySelector('#scripts li .status-text').textContent")
            .await;
        assert!(
            listed.as_str().unwrap().starts_with("macro · ok"),
            "{listed}"
        );
        std::fs::write(shots.join("workbench.png"), c.screenshot().await.unwrap()).unwrap();

        // A broken line: the check marks it in the gutter as you type.
        let broken = SHOUT.replace("return f'", "return (f'");
        c.execute(SET_TEXT, vec![broken.into()]).await.unwrap();
        browser
            .wait_for("document.querySelector('#gutter div.error')?.textContent === '14'")
            .await;
        let message = browser.eval("document.getElementById('check').textContent").await;
        assert!(message.as_str().unwrap().contains("line 14: error: SyntaxError"), "{message}");
        std::fs::write(shots.join("workbench-check.png"), c.screenshot().await.unwrap()).unwrap();

        // The fix, then a comment typed with real keys.
        let fixed = SHOUT.replace(".upper())}", ".upper())}!!");
        c.execute(SET_TEXT, vec![fixed.into()]).await.unwrap();
        c.find(Locator::Id("text"))
            .await
            .unwrap()
            .send_keys("# edited in the workbench\n")
            .await
            .unwrap();
        browser
            .wait_for("document.getElementById('check').textContent.startsWith('ok:')")
            .await;
        assert!(
            browser.eval("document.getElementById('dirty').textContent").await == "● unsaved"
        );

        // Run it on sample arguments: the HTML, its source, the output.
        c.find(Locator::Id("args"))
            .await
            .unwrap()
            .send_keys("text=workbench")
            .await
            .unwrap();
        c.find(Locator::Id("run")).await.unwrap().click().await.unwrap();
        browser
            .wait_for("document.getElementById('source').textContent === '<b class=\"shout\">WORKBENCH!!</b>'")
            .await;
        let head = browser.eval("document.getElementById('result-head').textContent").await;
        assert!(head.as_str().unwrap().starts_with("ok · "), "{head}");
        let output = browser.eval("document.getElementById('output').textContent").await;
        assert!(output.as_str().unwrap().contains("shouting workbench"), "{output}");
        std::fs::write(shots.join("workbench-run.png"), c.screenshot().await.unwrap()).unwrap();
        assert_eq!(
            std::fs::read_to_string(site.path().join("scripts/shout.py")).unwrap(),
            SHOUT,
            "nothing is written before Save"
        );

        c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
        browser
            .wait_for("document.getElementById('notice').textContent === 'Saved scripts/shout.py'")
            .await;
        let saved = std::fs::read_to_string(site.path().join("scripts/shout.py")).unwrap();
        assert!(
            saved.contains("upper())}!!</b>'") && saved.ends_with("\n# edited in the workbench\n"),
            "{saved}"
        );

        // The post, open all along in the other window, reloads with the
        // new output.
        c.switch_to_window(post_window).await.unwrap();
        browser
            .wait_for(
                "window.blogmarkTestMark === undefined && \
                 document.querySelector('b.shout')?.textContent === 'HI THERE!!'",
            )
            .await;
        c.switch_to_window(quiet.handle).await.unwrap();
        assert_eq!(
            browser.eval("window.blogmarkTestMark").await,
            1,
            "a page the edit did not change is left as it was"
        );
        browser.close().await;
    });
}

#[test]
fn in_a_browser_a_hook_renders_its_sample_and_a_generator_lists_its_pages() {
    let site = common::site("");
    common::write(
        site.path(),
        "scripts/links.py",
        "\"\"\"\n---\nkind: hook\nhook: link\n---\n\"\"\"\n\
         def render(ctx):\n    return f'<a class=\"hooked\" href=\"{ctx.link.url}\">{ctx.link.text}</a>'\n",
    );
    common::write(
        site.path(),
        "scripts/books.py",
        "\"\"\"\n---\nkind: generator\n---\n\"\"\"\n\
         def generate(ctx):\n    return [{'path': f'pages/books/{k}.md', \
         'front_matter': {'title': ctx.data['books'][k]['title']}} for k in ctx.data['books']]\n",
    );
    common::write(site.path(), "data/books/dune.toml", "title = \"Dune\"\n");
    let server = Server::start(site.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = Browser::start(1400, 860).await;
        let c = &browser.client;
        c.goto(&format!("{}_blogmark/scripts#links", server.base))
            .await
            .unwrap();
        browser
            .wait_for("document.getElementById('check').textContent.startsWith('ok: hook `links`')")
            .await;
        // The hook's form, not the macro's, with a sample holding a link.
        assert_eq!(
            browser.eval("[document.getElementById('hook-form').hidden, document.getElementById('macro-form').hidden]").await,
            serde_json::json!([false, true])
        );
        c.find(Locator::Id("run-hook")).await.unwrap().click().await.unwrap();
        browser
            .wait_for("document.getElementById('source').textContent.includes('<a class=\"hooked\" href=\"https://www.rust-lang.org/\">Rust</a>')")
            .await;
        std::fs::write(shots().join("workbench-hook.png"), c.screenshot().await.unwrap()).unwrap();

        // Another script opened from its address (a new page load: the
        // hash alone would not open it).
        c.goto("about:blank").await.unwrap();
        c.goto(&format!("{}_blogmark/scripts#books", server.base))
            .await
            .unwrap();
        browser
            .wait_for("document.getElementById('check').textContent.startsWith('ok: generator `books`')")
            .await;
        c.find(Locator::Id("run-generator")).await.unwrap().click().await.unwrap();
        browser
            .wait_for("document.getElementById('source').textContent.includes('<td>content/pages/books/dune.md</td><td>Dune</td>')")
            .await;
        browser.close().await;
    });
}
