use super::*;

#[test]
fn garbage_is_an_error_not_a_panic() {
    let err = read_trace("x", &b"hello world, not a trace"[..], Limits::default()).unwrap_err();
    assert_eq!(err.location, Location::Offset(0));
    assert!(err.message.contains("not a Go execution trace"), "{err}");
    let mut bytes = b"go 1.26 trace\0\0\0".to_vec();
    bytes.push(0x07);
    let err = read_trace("x", &bytes[..], Limits::default()).unwrap_err();
    assert_eq!(err.location, Location::Offset(16));
    assert!(err.message.contains("where a batch was expected"), "{err}");
}

#[test]
fn a_header_alone_holds_no_generation() {
    let err = read_trace("x", &b"go 1.26 trace\0\0\0"[..], Limits::default()).unwrap_err();
    assert!(err.message.contains("first generation"), "{err}");
}
