//! Go execution traces (`goleash trace`). Input that does not start with a trace header gets
//! `go 1.26 trace` in front, so the fuzzed bytes are batches; seeds are the real traces of
//! testdata/traces (the first -max_len bytes of each: a cut trace). Nothing may panic; a read
//! trace must convert to a snapshot whose ids resolve.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    goleash_fuzz::read_trace(data);
});
