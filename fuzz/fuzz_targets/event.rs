//! Lambda event parsing on arbitrary bytes: never panics, and the parsed records keep their
//! documented invariants; every key also goes through key decoding and routing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_csv2parquet::lambda::{decode_notification_key, parse_event_slice, Item, KeyRules};

fuzz_target!(|data: &[u8]| {
    let rules = KeyRules::default();
    if let Ok(event) = parse_event_slice(data) {
        for record in &event.records {
            let item = &record.item;
            // A reason is given exactly when there is no object; malformed items have one.
            assert_eq!(item.object().is_none(), item.reason().is_some(), "{item:?}");
            assert!(!item.is_malformed() || item.reason().is_some(), "{item:?}");
            if let Item::Convert(object) = item {
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
