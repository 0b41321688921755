//! A large file in `static/` or in a page bundle is streamed into the
//! output, never held whole in memory. Measured in a process of its own, so
//! that `getrusage(RUSAGE_CHILDREN)` sees only the renders of this test.

use crate::common;

use common::{host, site, write};

const GIB: u64 = 1 << 30;

/// The largest resident set of any child this process waited for, bytes.
fn children_max_rss() -> u64 {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we pass, which outlives it.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0);
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

#[test]
fn a_one_gib_file_is_copied_without_holding_it() {
    common::alone("big_files::measured");
}

#[test]
#[ignore = "run by a_one_gib_file_is_copied_without_holding_it, alone in its process"]
fn measured() {
    let site = site("");
    write(
        site.path(),
        "content/posts/x/index.md",
        "---\ntitle: X\ndate: 2024-01-01\n---\nSee [it](big.bin).\n",
    );
    // Sparse: costs no disk to make, reads as zeros but one byte.
    for path in ["content/posts/x/big.bin", "static/big.iso"] {
        let file = site.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let f = std::fs::File::create(&file).unwrap();
        f.set_len(GIB).unwrap();
        use std::os::unix::fs::FileExt as _;
        f.write_at(b"!", GIB - 1).unwrap();
    }
    for round in ["first", "second"] {
        let out = host(site.path(), &["render"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{round}: {stderr}");
        if round == "second" {
            assert!(stderr.contains(" 0 written"), "{stderr}");
        }
    }
    for path in ["posts/x/big.bin", "big.iso"] {
        let copy = site.path().join("public").join(path);
        assert_eq!(std::fs::metadata(&copy).unwrap().len(), GIB);
        use std::os::unix::fs::FileExt as _;
        let mut last = [0u8; 1];
        std::fs::File::open(&copy)
            .unwrap()
            .read_exact_at(&mut last, GIB - 1)
            .unwrap();
        assert_eq!(&last, b"!");
    }
    let rss = children_max_rss();
    assert!(rss < GIB / 4, "a render held {} MiB at its peak", rss >> 20);
}
