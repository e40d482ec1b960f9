//! Traceback text (debug=2, panics, SIGQUIT, logs): a complete goroutine in front forces the
//! format, and any traceback text or log may follow it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = b"goroutine 1 [running]:\nmain.main()\n\tmain.go:1 +0x1\n\n".to_vec();
    input.extend_from_slice(data);
    goleash_fuzz::parse_both(&input);
});
