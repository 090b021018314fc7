#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adx_fuzz::msk_event(data));
