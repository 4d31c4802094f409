//! Lambda event parsing on arbitrary bytes: never panics, and the parsed items keep their
//! documented invariants; every key also goes through key decoding and routing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_csv2parquet::lambda::{decode_notification_key, parse_event_slice, KeyRules};

fuzz_target!(|data: &[u8]| {
    let rules = KeyRules::default();
    if let Ok(event) = parse_event_slice(data) {
        for item in &event.items {
            // `ignored` is set exactly when there is no object; malformed items are ignored.
            assert_eq!(item.object.is_none(), item.ignored.is_some(), "{item:?}");
            assert!(!item.malformed || item.ignored.is_some(), "{item:?}");
            if let Some(object) = &item.object {
                let _ = object.url();
                let _ = rules.route(&object.key);
                let _ = rules.error_report_key(&object.key);
            }
        }
        let _ = event.malformed_message_ids();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = decode_notification_key(text) {
            // Text without '%' or '+' decodes to itself.
            if !text.contains(['%', '+']) {
                assert_eq!(key, text);
            }
            let _ = rules.route(&key);
        }
    }
});
