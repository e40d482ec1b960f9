//! debug=1 text: a `goroutine profile: total N` line in front forces the format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = b"goroutine profile: total 1\n".to_vec();
    input.extend_from_slice(data);
    goleash_fuzz::parse_both(&input);
});
