//! `cargo run --release --example gen_images -- DIR N [WIDTH HEIGHT]`: write
//! N photos (2000×1500 unless told) as `DIR/NNNN.jpg` for the image benchmark
//! (`benches/images/run.py`): smooth colour fields with fine detail, so
//! that they compress like photographs (about 0.5 MB each), not like flat
//! test cards.
use image::{ImageFormat, Rgb, RgbImage};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: gen_images DIR N"));
    let count: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let width: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let height: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1500);
    std::fs::create_dir_all(&dir).unwrap();
    for n in 0..count {
        let seed = n as f32 * 0.37;
        let image = RgbImage::from_fn(width, height, |x, y| {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let wave = ((fx * 13.0 + seed).sin() * (fy * 7.0 - seed).cos() + 1.0) * 0.5;
            // A cheap hash for grain, the detail a camera sensor adds.
            let grain = ((x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663) ^ n) % 24) as f32;
            let channel = |k: f32| ((wave * k + fx * (255.0 - k)) + grain).min(255.0) as u8;
            Rgb([channel(230.0), channel(160.0 + fy * 60.0), channel(90.0)])
        });
        image
            .save_with_format(dir.join(format!("{n:04}.jpg")), ImageFormat::Jpeg)
            .unwrap();
    }
}
