//! Randomness from the operating system's CSPRNG, the only source this relay uses.

/// `N` random bytes from the OS. Without an OS random source the relay cannot work safely at all,
/// so failing here stops the process rather than degrading.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if let Err(error) = getrandom::fill(&mut out) {
        panic!("the operating system's random number generator failed: {error}");
    }
    out
}

/// A random `u64`.
pub fn u64() -> u64 {
    u64::from_be_bytes(bytes::<8>())
}
