//! Any bytes, format sniffed as `goleash analyze` does, plain and gzipped.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    goleash_fuzz::parse_both(data);
});
