//! Goroutine traceback text: `?debug=2`, `runtime.Stack(buf, true)`, panics, SIGQUIT and
//! `go test -timeout` output, possibly embedded in log text.
//!
//! The input is cut into blocks at goroutine headers and the blocks are parsed on all cores.
//! A goroutine is first reduced to a byte signature of everything that decides its group
//! (state, labels, frames, creator, ancestry) in a reused buffer; only a signature never seen
//! before allocates and interns. Memory therefore grows with distinct stacks, not goroutines.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{mpsc, Mutex};

use goleash_model::{
    AncestryId, DumpFormat, Frame, FrameId, GroupKey, GroupStats, Interner, Label, LabelsId,
    Missing, ProfileKind, RawGroup, RuntimeProof, Snapshot, SourceInfo, StackId,
};
use memchr::{memchr, memmem};
use rustc_hash::FxHashMap;

use crate::error::excerpt;
use crate::{Limits, Location, ParseError};

mod aggregate;
mod assemble;
mod blocks;
mod grammar;
mod record;

use aggregate::*;
use assemble::*;
use blocks::*;
use grammar::*;
use record::*;

/// Blocks are cut at about this size; a goroutine never spans two blocks. Fuzzing builds
/// (`cargo fuzz` sets `--cfg fuzzing`) use tiny blocks so that small inputs exercise block
/// cutting, the parallel workers and reassembly.
#[allow(unexpected_cfgs)]
const BLOCK: usize = if cfg!(fuzzing) { 64 } else { 4 << 20 };
/// A block with no header to cut at grows to this size before it is cut at a blank line.
#[allow(unexpected_cfgs)]
const MAX_BLOCK: usize = if cfg!(fuzzing) { 512 } else { 64 << 20 };

/// Parses every dump in the input and returns one snapshot per dump, in input order.
pub(crate) fn parse_dumps(
    name: &str,
    mut reader: impl BufRead,
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    let mut blocks = BlockReader::new(name, limits);
    let first = blocks.next_block(&mut reader)?;
    let Some(first) = first else {
        return Err(ParseError::new(
            name,
            Location::Offset(0),
            "the input is empty; expected a goroutine dump",
        ));
    };
    // Asked only for inputs of more than one block: on Linux it reads cgroup files, which
    // costs more than parsing a small dump.
    let workers = if first.last {
        1
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
    };
    let mut assembler = Assembler::new(name);
    if first.last || workers == 1 {
        assembler.offer(first.index, parse_block(first.bytes(), first.last));
        let mut last = first.last;
        blocks.recycle(first.data);
        while !last {
            let Some(block) = blocks.next_block(&mut reader)? else {
                break;
            };
            assembler.offer(block.index, parse_block(block.bytes(), block.last));
            last = block.last;
            blocks.recycle(block.data);
        }
    } else {
        parse_parallel(first, &mut blocks, &mut reader, workers, &mut assembler)?;
    }
    assembler.finish(blocks.total)
}

/// Parses an input already in memory: when it fits in one block it is parsed where it lies,
/// without the block reader's copy into buffers of its own; a larger one is cut into blocks
/// and parsed in parallel as a stream is.
pub(crate) fn parse_dumps_slice(
    name: &str,
    data: &[u8],
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    if data.is_empty() || data.len() >= BLOCK || data.len() as u64 > limits.max_bytes {
        return parse_dumps(name, data, limits);
    }
    let mut assembler = Assembler::new(name);
    assembler.offer(0, parse_block(data, true));
    assembler.finish(data.len() as u64)
}

/// Parses blocks on `workers` threads while this one reads, and hands each result to the
/// assembler as soon as it arrives: only the blocks in flight and the dumps assembled so far
/// are in memory, however long the input.
fn parse_parallel(
    first: Block,
    blocks: &mut BlockReader<'_>,
    reader: &mut impl BufRead,
    workers: usize,
    assembler: &mut Assembler<'_>,
) -> Result<(), ParseError> {
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers);
    let block_rx = Mutex::new(block_rx);
    let (result_tx, result_rx) = mpsc::channel::<(usize, BlockResult)>();
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    blocks.returned = Some(spare_rx);
    let read_result = std::thread::scope(|scope| {
        for _ in 0..workers {
            let result_tx = result_tx.clone();
            let spare_tx = spare_tx.clone();
            let block_rx = &block_rx;
            scope.spawn(move || loop {
                let next = match block_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(block) = next else { return };
                let result = parse_block(block.bytes(), block.last);
                // The reader may be done already; then the buffer is simply dropped.
                let _ = spare_tx.send(block.data);
                if result_tx.send((block.index, result)).is_err() {
                    return;
                }
            });
        }
        drop(result_tx);
        drop(spare_tx);
        let mut read_result = Ok(());
        let mut next = Some(first);
        while let Some(block) = next.take() {
            let last = block.last;
            if block_tx.send(block).is_err() {
                break;
            }
            if last {
                break;
            }
            match blocks.next_block(reader) {
                Ok(block) => next = block,
                Err(e) => {
                    read_result = Err(e);
                    break;
                }
            }
            for (index, result) in result_rx.try_iter() {
                assembler.offer(index, result);
            }
        }
        drop(block_tx);
        read_result
    });
    blocks.returned = None;
    read_result?;
    for (index, result) in result_rx {
        assembler.offer(index, result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_without_its_final_newline_is_complete() {
        // Saved by an editor or a paste that dropped the last newline: nothing is cut.
        let text = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d";
        let snapshot =
            crate::parse("nonl.txt", text.as_bytes(), crate::Limits::default()).expect("reads");
        assert_eq!(snapshot.total(), 2);
        assert!(
            snapshot.notes.iter().all(|n| !n.contains("truncated")),
            "{:?}",
            snapshot.notes
        );
        // Cut inside the last line: still a cut, the cut goroutine left out and noted.
        let cut = &text[..text.len() - 6];
        let snapshot = crate::parse("cut.txt", cut.as_bytes(), crate::Limits::default())
            .expect("reads up to the cut");
        assert_eq!(snapshot.total(), 1);
        assert!(
            snapshot.notes.iter().any(|n| n.contains("truncated")),
            "{:?}",
            snapshot.notes
        );
    }

    #[test]
    fn a_system_goroutine_without_frames_is_read() {
        // SIGQUIT under load prints a thread's `goroutine 0` with nothing under its header.
        let text = "goroutine 0 gp=0x5a2b00 m=0 mp=0x5a3ce0 [idle]:\n\ngoroutine 1 gp=0xc000002380 m=nil [chan receive]:\nmain.main()\n\t/app/main.go:10 +0x1d\n";
        let snapshot = crate::parse("sigquit.txt", text.as_bytes(), crate::Limits::default())
            .expect("a frameless goroutine 0 is read");
        // A thread's stack, not a goroutine: read, noted, not counted.
        assert_eq!(snapshot.total(), 1);
        assert!(snapshot.notes.iter().any(|n| n.contains("goroutine 0")));
    }

    #[test]
    fn appended_dumps_are_separate_dumps() {
        // `curl …?debug=2 >> g.txt` twice: the second dump starts right after the first.
        let one = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n\n";
        let two = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n\ngoroutine 9 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n";
        let text = format!("{one}{two}");
        let dumps = crate::parse_dumps("appended.txt", text.as_bytes(), crate::Limits::default())
            .expect("reads");
        let totals: Vec<u64> = dumps.iter().map(|d| d.total()).collect();
        assert_eq!(totals, vec![2, 3]);
    }

    #[test]
    fn a_crash_dump_printing_a_goroutine_twice_stays_one_dump() {
        // SIGQUIT/crash tracebacks (`gp=… m=…` headers) can print the running goroutine again
        // in the list of all goroutines: that is one dump, not an appended second one.
        let text = "goroutine 5 gp=0xc000007c00 m=3 mp=0xc000100008 [running]:\nmain.spin()\n\t/app/main.go:30 +0x11\n\ngoroutine 1 gp=0xc000002380 m=nil [chan receive]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 5 gp=0xc000007c00 m=3 mp=0xc000100008 [running]:\nmain.spin()\n\t/app/main.go:30 +0x11\n";
        let dumps = crate::parse_dumps("crash.txt", text.as_bytes(), crate::Limits::default())
            .expect("reads");
        assert_eq!(dumps.len(), 1);
        // Goroutine 5 printed twice is one goroutine.
        assert_eq!(dumps[0].total(), 2);
    }

    #[test]
    fn a_goroutine_running_on_another_thread_has_no_stack() {
        // As runtime/traceback.go prints it: indented with a tab, then the creator.
        let text = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [running]:\n\tgoroutine running on other thread; stack unavailable\ncreated by main.main in goroutine 1\n\t/app/main.go:8 +0x25\n";
        let snapshot = crate::parse("crash.txt", text.as_bytes(), crate::Limits::default())
            .expect("a stack-unavailable goroutine is read");
        assert_eq!(snapshot.total(), 2);
    }

    /// A dump of `n` goroutines over a few stacks, larger than one block for large `n`.
    fn synthetic_dump(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for id in 1..=n {
            out.extend_from_slice(
                format!(
                    "goroutine {id} [chan receive, {} minutes]:\nmain.worker{}(0xc000{id:x})\n\t/src/app/main.go:{} +0x1d\nmain.run()\n\t/src/app/main.go:9 +0x2a\ncreated by main.start in goroutine 1\n\t/src/app/main.go:4 +0x3b\n\n",
                    id % 7,
                    id % 3,
                    10 + id % 5
                )
                .as_bytes(),
            );
        }
        out
    }

    /// A reader that hands out at most `chunk` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.chunk).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_and_many_blocks_give_the_same_dumps() {
        let dump = synthetic_dump(60_000);
        assert!(dump.len() > 2 * BLOCK);
        let whole = crate::parse_dumps("d", &dump[..], Limits::default()).unwrap();
        let trickled = crate::parse_dumps(
            "d",
            Trickle {
                data: &dump,
                chunk: 4093,
            },
            Limits::default(),
        )
        .unwrap();
        assert_eq!(format!("{whole:?}"), format!("{trickled:?}"));
        assert_eq!(whole[0].total(), 60_000);
        // worker0..2 × lines 10..14: every combination occurs.
        assert_eq!(whole[0].groups.len(), 3 * 5);
    }

    #[test]
    fn size_limit_holds_while_a_block_grows_past_the_block_size() {
        // One goroutine, then more than a block of text with no header to cut at: the block
        // grows, and the limit must still stop it.
        let mut input = synthetic_dump(1);
        while input.len() < 3 * BLOCK {
            input.extend_from_slice(b"2026/11/23 12:00:00 a log line that is not part of a dump\n");
        }
        let limits = Limits {
            max_bytes: (BLOCK + BLOCK / 2) as u64,
        };
        let err = crate::parse_dumps("log", &input[..], limits).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
    }

    #[test]
    fn header_variants() {
        let h = parse_header(b"goroutine 7 [chan send]:").unwrap();
        assert_eq!((h.id, h.state, h.leaked), (7, &b"chan send"[..], false));

        let h = parse_header(b"goroutine 12 gp=0xc000102380 m=nil [chan receive, 15 minutes]:")
            .unwrap();
        assert_eq!(
            (h.id, h.state, h.wait_minutes),
            (12, &b"chan receive"[..], Some(15))
        );

        let h =
            parse_header(b"goroutine 10 [select (no cases) (leaked)] {req: 7, tenant: \"a b\"}:")
                .unwrap();
        assert_eq!(h.state, b"select (no cases)");
        assert!(h.leaked);
        assert_eq!(h.labels, Some(&b"req: 7, tenant: \"a b\""[..]));

        let h = parse_header(b"goroutine 5 [syscall, 3 minutes, locked to thread]:").unwrap();
        assert_eq!(
            (h.state, h.wait_minutes, h.locked),
            (&b"syscall"[..], Some(3), true)
        );

        let h = parse_header(b"goroutine 9 [chan receive (durable), synctest bubble 1]:").unwrap();
        assert_eq!(h.state, b"chan receive (durable)");

        assert!(parse_header(b"goroutine 5 was started by the scheduler [x]:").is_none());
        assert!(parse_header(b"goroutine profile: total 5").is_none());
        assert!(parse_header(b"goroutine 5 [chan send]").is_none());
    }

    #[test]
    fn labels_are_unquoted() {
        let pairs = parse_labels(b"req: 7, tenant: \"a b\", q: \"x\\\"y\"").unwrap();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(pairs, vec![("req", "7"), ("tenant", "a b"), ("q", "x\"y")]);
        assert!(parse_labels(b"novalue").is_err());
    }

    #[test]
    fn frame_lines() {
        assert_eq!(
            function_of_call(b"main.(*T).Wait(...)"),
            Some(&b"main.(*T).Wait"[..])
        );
        assert_eq!(
            function_of_call(b"main.Map[...](0xc0000, 0x1?)"),
            Some(&b"main.Map[...]"[..])
        );
        assert_eq!(function_of_call(b"2026/11/23 server started (pid 4)"), None);
        assert_eq!(
            parse_location(b"probe/main.go:12 +0x1d"),
            Some((&b"probe/main.go"[..], 12))
        );
        assert_eq!(
            parse_location(b"/usr/local/go/src/runtime/proc.go:435 +0xce fp=0xc sp=0xc pc=0x4"),
            Some((&b"/usr/local/go/src/runtime/proc.go"[..], 435))
        );
        assert_eq!(
            parse_location(b"C:/Program Files/app/main.go:9"),
            Some((&b"C:/Program Files/app/main.go"[..], 9))
        );
        assert_eq!(parse_location(b"main.go"), None);
    }
}
