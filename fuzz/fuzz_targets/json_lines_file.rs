#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| adx_fuzz::json_lines_file(data));
