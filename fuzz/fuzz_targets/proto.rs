//! pprof protobuf (debug=0). A leading `period_type {}` field (0x5a 0x02 0x08 0x00) makes the
//! input sniff as a profile; protobuf merges repeated messages, so the fuzzed bytes that follow
//! are the rest of the profile. Seeds are decompressed profiles.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = vec![0x5a, 0x02, 0x08, 0x00];
    input.extend_from_slice(data);
    goleash_fuzz::parse_both(&input);
});
