//! Any bytes through the source stage's unwrapping (compression, encodings, log and paste
//! transports), then the parser, as `goleash analyze` reads a file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    goleash_fuzz::unwrap_and_parse(data);
});
