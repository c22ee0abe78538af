//! Byte caps on what one response carries: a history page and one batch of a
//! stream poll stop at [`PAGE_BYTES`] as well as at their count.
//!
//! Why 256 KiB: the free plan gives an invocation 10 ms of CPU and 128 MB of
//! memory. D1's rows cross into wasm as JSON and are serialized again for the
//! client, so a page costs its size a few times over in copies; 256 KiB is
//! about 1 ms of that work on a Worker and a small, fixed slice of memory,
//! while 500 messages of 32 KiB would be 16 MiB. Chat-sized messages (up to
//! about 250 bytes) still fill a whole 500-message page, and a default page
//! of 100 holds messages averaging up to about 2.3 KiB.
//!
//! The database applies the rule (the statement sums [`row_bytes`] with a
//! window function, so the rows over the cap never leave D1); this module
//! states it once, with the numbers the statements bind.

/// The most bytes of messages a page or batch carries (unless its first
/// message alone is larger: a page always holds at least one).
pub const PAGE_BYTES: u64 = 256 * 1024;

/// What a message costs beyond its content and payload: its id, room id,
/// sender, times and JSON punctuation, rounded up.
pub const ROW_OVERHEAD_BYTES: u64 = 256;

/// The bytes a message counts for: content and payload (as UTF-8) plus the
/// overhead.
pub fn row_bytes(content_len: u64, payload_len: u64) -> u64 {
    content_len + payload_len + ROW_OVERHEAD_BYTES
}

/// Whether the next message joins a page that already holds `before` bytes:
/// yes while the page is under the cap, so the first always does and a page
/// ends at most one message past the cap.
pub fn keeps(before: u64, cap: u64) -> bool {
    before < cap
}

/// How many of `sizes` (in page order) a page takes: the rule the SQL applies.
pub fn take(sizes: impl IntoIterator<Item = u64>, cap: u64) -> usize {
    let mut before = 0u64;
    let mut n = 0;
    for size in sizes {
        if !keeps(before, cap) {
            break;
        }
        before += size;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_fill_a_whole_page() {
        assert_eq!(
            take(std::iter::repeat_n(row_bytes(250, 0), 500), PAGE_BYTES),
            500
        );
        assert!(take(std::iter::repeat_n(row_bytes(300, 0), 500), PAGE_BYTES) < 500);
    }

    #[test]
    fn large_messages_stop_at_the_cap() {
        let big = row_bytes(32 * 1024, 0);
        let n = take(std::iter::repeat_n(big, 500), PAGE_BYTES);
        // 8 messages are 264 KiB: the 8th starts under the cap, the 9th over it.
        assert_eq!(n, 8);
        assert!((n as u64 - 1) * big < PAGE_BYTES && n as u64 * big >= PAGE_BYTES);
    }

    #[test]
    fn the_first_message_always_fits() {
        assert_eq!(take([PAGE_BYTES * 4, 1], PAGE_BYTES), 1);
        assert_eq!(take([], PAGE_BYTES), 0);
        assert!(keeps(0, PAGE_BYTES));
        assert!(!keeps(PAGE_BYTES, PAGE_BYTES));
    }

    #[test]
    fn payloads_count() {
        assert_eq!(row_bytes(10, 20), 10 + 20 + ROW_OVERHEAD_BYTES);
        assert_eq!(take([row_bytes(0, PAGE_BYTES), 1], PAGE_BYTES), 1);
    }
}
