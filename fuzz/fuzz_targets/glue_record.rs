#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adx_fuzz::glue_record(data));
