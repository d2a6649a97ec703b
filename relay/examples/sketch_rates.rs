//! How often the in-memory store's limit sketches refuse early, at a given size and load: the
//! "false-limit rate" docs/security.md reports. Simulates one window of the per-mailbox limit
//! (5 per 15 minutes): `load` other mailboxes each counted once, spread over the window; then, for
//! many fresh mailboxes, counts how often one that has been sent 4 codes (or none) already looks
//! like it has 5. Run: `cargo run --release -p otp-relay --example sketch_rates [width]`.

use otp_relay::core::clock::UnixTime;
use otp_relay::core::store::sketch::{DEFAULT_WIDTH, WindowedSketch};
use std::time::Duration;

fn main() {
    let width = std::env::args()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or(DEFAULT_WIDTH);
    let window = Duration::from_secs(900);
    let limit = 5u64;
    let probes = 20_000u32;
    println!("sketch width {width} (4 rows, 5 slots), limit {limit} per 15 min");
    println!(
        "{:>12} {:>22} {:>22}",
        "other sends", "refused at 5th send", "refused at 1st send"
    );
    for load in [10_000u32, 50_000, 100_000, 200_000] {
        let sketch = WindowedSketch::new(window, width, limit);
        let start = 1_795_255_200_000u64;
        // Other traffic, evenly over the window that ends now.
        for n in 0..load {
            let at = start + u64::from(n) * 900_000 / u64::from(load);
            sketch.add(format!("other-{n}").as_bytes(), UnixTime::from_millis(at));
        }
        let now = UnixTime::from_millis(start + 900_000);
        let (mut early_fifth, mut early_first) = (0u32, 0u32);
        for p in 0..probes {
            let key = format!("probe-{p}");
            // Four sends just now: the fifth is allowed unless the estimate already reads 5.
            let mut last = 0;
            for _ in 0..4 {
                last = sketch.add(key.as_bytes(), now).value;
            }
            if last >= limit {
                early_fifth += 1;
            }
            let fresh = sketch.peek(format!("fresh-{p}").as_bytes(), now).value;
            if fresh >= limit {
                early_first += 1;
            }
            // Take the probe's sends back so probes do not crowd each other.
            let slot = sketch.add(key.as_bytes(), now).slot.unwrap_or(0);
            for _ in 0..5 {
                sketch.take_back(key.as_bytes(), slot);
            }
        }
        let rate = |n: u32| f64::from(n) / f64::from(probes) * 100.0;
        println!(
            "{load:>12} {:>21.3}% {:>21.3}%",
            rate(early_fifth),
            rate(early_first)
        );
    }
}
