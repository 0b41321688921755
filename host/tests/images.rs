//! `ctx.resource(...)`: images resized, filled, fitted and converted by
//! the host from real JPEG and PNG files the test makes, the outputs
//! decoded to check their size and format; a changed image re-derives only
//! its own outputs; bombs, paths out of the bundle and sites that grant
//! nothing are refused with a message.

use crate::common;

use common::{host, site, write};
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use std::path::Path;

const PIC: &str = "\"\"\"\n---\nneeds: [images]\nuses_page: true\n---\n\"\"\"\n\
def render(ctx):\n    \
    r = ctx.resource(ctx.args['src'])\n    \
    op = ctx.args.get('op', 'resize')\n    \
    if op == 'named':\n        \
        m = ctx.page.resources['cover.jpg'].fit(50, 50)\n        \
        return f'<img src=\"{m.url}\" width=\"{m.width}\" height=\"{m.height}\">'\n    \
    if op == 'srcset':\n        \
        return f'<img srcset=\"{r.srcset([160, 320], format=\"webp\")}\">'\n    \
    if op == 'fill':\n        \
        m = r.fill(100, 100, format='jpeg', quality=60)\n    \
    elif op == 'fit':\n        \
        m = r.fit(100, 100)\n    \
    else:\n        \
        m = r.resize(width=320, format='webp')\n    \
    return f'<img src=\"{m.url}\" width=\"{m.width}\" height=\"{m.height}\">'\n";

fn jpeg(shade: u8) -> Vec<u8> {
    let image = RgbImage::from_fn(640, 480, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, shade])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

fn png() -> Vec<u8> {
    let image = RgbaImage::from_fn(200, 100, |x, _| Rgba([200, 10, 10, (x % 256) as u8]));
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG header that declares 60000×60000 pixels, and no pixels.
fn bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&60_000u32.to_be_bytes());
    png.extend_from_slice(&60_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `src` and `srcset` URLs of the page, in order.
fn urls(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for part in html.split(['"', ' ', ',']) {
        let part = part.trim_start_matches("https://example.org");
        let image = [".webp", ".jpg", ".png"].iter().any(|x| part.ends_with(x));
        if part.starts_with('/') && part.contains('_') && image {
            found.push(part.to_owned());
        }
    }
    found
}

/// The format and size of the output file at `url`.
fn decoded(public: &Path, url: &str) -> (ImageFormat, u32, u32) {
    let path = url
        .trim_start_matches("https://example.org")
        .trim_start_matches('/');
    let bytes = std::fs::read(public.join(path)).unwrap_or_else(|e| panic!("{url}: {e}"));
    let format = image::guess_format(&bytes).unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    (format, image.width(), image.height())
}

#[test]
fn images_are_made_decodable_at_their_sizes_and_only_a_changed_one_again() {
    let site = site("[capabilities]\nimages = true\n");
    let root = site.path();
    write(root, "scripts/pic.py", PIC);
    let bundle = root.join("content/posts/trip");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(bundle.join("cover.jpg"), jpeg(0)).unwrap();
    std::fs::write(bundle.join("bomb.png"), bomb()).unwrap();
    std::fs::create_dir_all(root.join("static/img")).unwrap();
    std::fs::write(root.join("static/img/logo.png"), png()).unwrap();
    write(
        root,
        "content/posts/trip/index.md",
        "+++\ntitle = \"Trip\"\ndate = 2024-01-01\n+++\n\
         {{< pic src=\"cover.jpg\" >}}\n\n\
         {{< pic src=\"cover.jpg\" op=\"fill\" >}}\n\n\
         {{< pic src=\"/img/logo.png\" op=\"fit\" >}}\n\n\
         {{< pic src=\"cover.jpg\" op=\"srcset\" >}}\n\n\
         {{< pic src=\"../../../site.toml\" >}}\n\n\
         {{< pic src=\"/../site.toml\" >}}\n\n\
         {{< pic src=\"bomb.png\" >}}\n\n\
         {{< figure src=\"cover.jpg\" width=200 format=\"webp\" alt=\"Cover\" >}}\n\n\
         {{< pic src=\"cover.jpg\" op=\"named\" >}}\n",
    );
    // A template asks too: a thumbnail of the page's cover.
    write(
        root,
        "templates/post.html",
        "{% set t = image(\"cover.jpg\", op=\"fill\", width=64, height=64, format=\"png\") %}\
         <img class=\"thumb\" src=\"{{ t.url }}\" width=\"{{ t.width }}\">{{ page.content | safe }}",
    );
    let out = host(root, &["render"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let public = root.join("public");
    let page = std::fs::read_to_string(public.join("posts/trip/index.html")).unwrap();
    let thumb = page
        .split("class=\"thumb\" src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no thumbnail in {page}"));
    assert_eq!(decoded(&public, thumb), (ImageFormat::Png, 64, 64));
    let html = page.split("width=\"64\">").nth(1).unwrap().to_owned();
    let made = urls(&html);
    assert_eq!(made.len(), 7, "{made:?} in {html}");
    assert_eq!(decoded(&public, &made[0]), (ImageFormat::WebP, 320, 240));
    assert!(html.contains("width=\"320\" height=\"240\""), "{html}");
    assert_eq!(decoded(&public, &made[1]), (ImageFormat::Jpeg, 100, 100));
    assert!(made[2].starts_with("/img/logo_"), "{made:?}");
    assert_eq!(decoded(&public, &made[2]), (ImageFormat::Png, 100, 50));
    assert_eq!(decoded(&public, &made[3]), (ImageFormat::WebP, 160, 120));
    assert_eq!(made[4], made[0], "the same operation is one file");
    // The built-in figure, with width= and format=.
    assert_eq!(decoded(&public, &made[5]), (ImageFormat::WebP, 200, 150));
    assert!(html.contains("width=\"200\" height=\"150\""), "{html}");
    // By name from `ctx.page.resources`, in the source's format.
    assert_eq!(decoded(&public, &made[6]), (ImageFormat::Jpeg, 50, 38));
    assert!(made[0].starts_with("/posts/trip/cover_"), "{made:?}");
    for expected in [
        "content/posts/trip/index.md has no file `../../../site.toml` in its bundle",
        "`/../site.toml` is not a plain path under static/",
        "declares 60000×60000 pixels; at most 100 million are read",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }
    // The link check sees the made files.
    let check = host(root, &["check"]);
    assert!(
        !text(&check.stderr).contains("broken"),
        "{}",
        text(&check.stderr)
    );

    // Another cover: its outputs get new names (the old ones go); the
    // logo's output is the same file, untouched.
    let logo = public.join(made[2].trim_start_matches('/'));
    let logo_before = std::fs::metadata(&logo).unwrap().modified().unwrap();
    std::fs::write(bundle.join("cover.jpg"), jpeg(200)).unwrap();
    let out = host(root, &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(public.join("posts/trip/index.html")).unwrap();
    let html = html.split("width=\"64\">").nth(1).unwrap();
    let again = urls(html);
    assert_eq!(again[2], made[2]);
    assert_eq!(
        std::fs::metadata(&logo).unwrap().modified().unwrap(),
        logo_before
    );
    for i in [0, 1, 3] {
        assert_ne!(again[i], made[i]);
        assert!(!public.join(made[i].trim_start_matches('/')).exists());
        assert!(public.join(again[i].trim_start_matches('/')).exists());
    }
}

#[test]
fn a_site_that_grants_no_images_or_a_script_that_does_not_declare_them_is_refused() {
    let site = site("");
    let root = site.path();
    write(root, "scripts/pic.py", PIC);
    write(
        root,
        "scripts/undeclared.py",
        "def render(ctx):\n    return ctx.resource('/a.png').resize(10).url\n",
    );
    std::fs::create_dir_all(root.join("static")).unwrap();
    std::fs::write(root.join("static/a.png"), png()).unwrap();
    write(
        root,
        "content/posts/p.md",
        "+++\ntitle = \"P\"\n+++\n{{< pic src=\"/a.png\" >}} {{< undeclared >}}\n",
    );
    let out = host(root, &["render"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("SandboxDenied: the site grants no image processing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("scripts/undeclared.py does not declare `needs: [images]`"),
        "{stderr}"
    );
    let made: Vec<_> = std::fs::read_dir(root.join("public"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("a_"))
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

/// What the browser shows of the page's photo, once loaded, in a window
/// `width` wide: the candidate it picked from the `srcset`, its width as
/// shown (the decoded width over the candidate's density: the `sizes`
/// width), and the CSS width `sizes` gives it.
async fn shown(url: &str, width: u32) -> (String, u64, f64, f64) {
    let browser = common::browser::Browser::start(width, 900).await;
    browser.client.goto(url).await.unwrap();
    browser
        .wait_for("document.querySelector('article img')?.complete && document.querySelector('article img').naturalWidth > 0")
        .await;
    let picked = browser
        .eval("[document.querySelector('article img').currentSrc, document.querySelector('article img').naturalWidth, Math.min(window.innerWidth, 800), window.devicePixelRatio]")
        .await;
    browser.close().await;
    (
        picked[0].as_str().unwrap_or_default().to_owned(),
        picked[1].as_u64().unwrap_or_default(),
        picked[2].as_f64().unwrap_or_default(),
        picked[3].as_f64().unwrap_or(1.0),
    )
}

/// The candidate of 480, 800 and 1200 pixels a browser needing `needed`
/// pixels picks: the smallest that is enough, else the largest.
fn candidate(needed: f64) -> u64 {
    [480, 800, 1200]
        .into_iter()
        .find(|w| *w as f64 >= needed)
        .unwrap_or(1200)
}

#[test]
fn a_real_browser_picks_and_decodes_the_webp_size_the_demo_hook_offers() {
    let site = site("[capabilities]\nimages = true\n");
    let root = site.path();
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/scripts/responsive_images.py");
    write(
        root,
        "scripts/responsive_images.py",
        &std::fs::read_to_string(hook).unwrap(),
    );
    let bundle = root.join("content/posts/trip");
    std::fs::create_dir_all(&bundle).unwrap();
    let photo = RgbImage::from_fn(1600, 1000, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    photo.save(bundle.join("photo.jpg")).unwrap();
    write(
        root,
        "content/posts/trip/index.md",
        "+++\ntitle = \"Trip\"\ndate = 2024-01-01\n+++\n![The trip](photo.jpg)\n",
    );
    let server = common::server::Server::start(root);
    let url = format!("{}posts/trip/", server.base);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // `sizes` says 100vw up to 800 px: each window gets the smallest
        // WebP that covers its width (headless Chromium's windows are at
        // least 500 px wide, so both pick 800 here), decoded.
        let mut picked = Vec::new();
        for width in [400, 1400] {
            let (src, natural, css, ratio) = shown(&url, width).await;
            let needed = css * ratio;
            assert!(src.starts_with(&server.base), "{src}");
            let expected = candidate(needed);
            assert!(
                src.ends_with(&format!("_{expected}x{}.webp", expected * 1000 / 1600)),
                "{src} for {needed} pixels"
            );
            // Decoded: its intrinsic size is known, shown at the `sizes` width.
            assert_eq!(natural as f64, css, "{src}");
            picked.push(expected);
        }
        assert!(picked.iter().all(|w| *w >= 480), "{picked:?}");
    });
}
