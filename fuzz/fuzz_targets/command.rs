//! Any text addressed to keel: the parser answers with a command, "not a command", or a
//! one-line explanation with the usage; it never panics.
#![no_main]

use keel::command::{self, ParseError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match command::parse(&text) {
        Ok((command, spec)) => {
            // Whatever was read, the help for its command is there too.
            assert!(!command::help(Some(spec.name), false).is_empty(), "{command:?}");
        }
        Err(ParseError::NotACommand) => {}
        Err(ParseError::Usage(message)) => {
            assert!(!message.contains('\n'), "multi-line error: {message:?}");
            assert!(message.contains("usage: "), "{message:?}");
            assert!(message.chars().count() < 400, "{message:?}");
        }
    }
});
