//! Settings of the C allocator for the handlers' processes (the Lambda mains and `adx`).
//!
//! Parquet encoding and de-duplication use short-lived buffers of megabytes. By default glibc
//! maps each large one afresh and returns the top of its heap to the system as soon as it is
//! free, so every row group pays for its pages again (page faults and zeroing: about 3% of the
//! CPU of a JSON object). Here chunks up to 32 MiB (glibc's largest setting: the key set's
//! tables and the row groups' buffers) come from the heap, and the heap keeps up to 256 MiB of
//! free memory (the handlers' memory bound) instead of returning it: a warm Lambda's next
//! invocation reuses the pages the last one faulted in rather than faulting them in again. The
//! resident memory stays at the peak of the invocations so far, which the function's memory
//! setting holds anyway.

/// Allocations up to this size come from the heap, where freed memory is reused.
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Free memory at the top of the heap is kept up to this size before it is returned.
pub const TRIM_THRESHOLD_BYTES: i32 = 256 << 20;

/// Applies the settings above; call it first thing in `main`. A no-op outside glibc.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // exists, and a refused setting (return value 0) leaves glibc's defaults in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
    }
}
