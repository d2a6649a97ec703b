//! The parsers that see outside input, held to their promises (`crate::properties`) on inputs
//! proptest draws: arbitrary text and bytes, and inputs shaped like the real thing (addresses,
//! URLs, headers, JSON bodies, catalogue lines, branding files), where the interesting cases
//! are. The same properties run as fuzz targets under `make fuzz`; every input a fuzzer ever
//! broke one with is kept in `regressions` below.

use crate::properties;
use proptest::prelude::*;

/// Text of any characters, or one of `shapes` (a regex), half and half.
fn text_or(shape: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), shape]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9@.+ \\-]{0,24}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON object with the request fields (and others), each of any JSON type.
fn request_object() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("email"),
        Just("challenge"),
        Just("code"),
        Just("pow"),
        Just("lang"),
        Just("other")
    ];
    prop::collection::vec((field, json_value()), 0..6).prop_map(|fields| {
        let mut text = String::from("{");
        for (index, (name, value)) in fields.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(&format!("{:?}:{value}", name));
        }
        text.push('}');
        text.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tokens_decode_only_to_themselves(text in text_or("[A-Za-z0-9_-]{0,170}")) {
        properties::token_text(&properties::ring(), &text);
    }

    #[test]
    fn signed_challenges_round_trip_and_refuse_any_change(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        properties::token_round_trip(&properties::ring(), &bytes);
    }

    #[test]
    fn request_bodies_read_or_refuse_with_a_sentence(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        request_object(),
    ]) {
        properties::request_bodies(&bytes);
    }

    #[test]
    fn addresses_that_pass_are_plain_and_fold_idempotently(text in text_or(
        "[ ]?[a-zA-Z0-9.+_%!#'=~-]{0,12}[+]?[a-zA-Z0-9.]{0,6}@[a-zA-Z0-9.-]{0,16}(gmail\\.com|googlemail\\.com|example\\.com)?[ \\r\\n\\t]?"
    )) {
        properties::address(&text);
    }

    #[test]
    fn forwarded_clients_are_written_in_the_header(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        "((10\\.0\\.0\\.[0-9]|192\\.0\\.2\\.[0-9]{1,3}|\\[?2001:db8::[0-9a-f]{0,4}\\]?|::ffff:192\\.0\\.2\\.1|unknown)(:[0-9]{1,5})?[, \\n]{0,2}){0,4}".prop_map(String::into_bytes),
    ]) {
        properties::forwarded_for(&bytes);
    }

    #[test]
    fn accept_language_names_the_language_it_picks(text in text_or(
        "(([a-zA-Z]{1,3}(-[a-zA-Z]{2})?|\\*)(;q=[01]?(\\.[0-9]{0,3})?)?,? ?){0,4}"
    )) {
        properties::accept_language(&text);
    }

    #[test]
    fn pow_solutions_round_trip(value in json_value(), text in any::<String>()) {
        use base64::Engine;
        properties::pow_solution(&text);
        properties::pow_solution(&base64::engine::general_purpose::STANDARD.encode(value.to_string()));
        let solution = serde_json::json!({"algorithm": "SHA-256", "challenge": text, "number": 7, "salt": "s?expires=1&", "signature": "00"});
        properties::pow_solution(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(solution.to_string()));
    }

    #[test]
    fn smtp_urls_never_show_their_password(text in text_or(
        "(smtps?|SMTP|http)://(([a-z%40]{0,8})?:[a-zA-Z0-9%]{4,10}@)?[a-z0-9.\\[\\]:]{0,16}(:[0-9]{0,6})?/?(\\?tls=[a-z]{0,9}(&x=1)?)?"
    )) {
        properties::smtp_url(&text);
    }

    #[test]
    fn store_urls_never_show_their_password(text in text_or(
        "(redis|rediss|redis-cluster|rediss-cluster|memory)://(([a-z]{0,6})?:[a-zA-Z0-9]{4,10}@)?[a-z0-9.,:]{0,30}(/[0-9]{0,3})?"
    )) {
        properties::store_url(&text);
    }

    #[test]
    fn branding_files_hold_only_checked_brands(
        origin in prop_oneof![
            Just("https://shop.example".to_string()),
            Just("https://SHOP.example:443".to_string()),
            Just("https://other.example".to_string()),
            "[a-z:/.]{0,20}",
        ],
        product in text_or("[A-Za-z ]{0,70}"),
        from in prop::option::of(text_or("[A-Za-z ]{0,8}<[a-z]{1,6}@[a-z.]{1,12}>")),
        accent in prop::option::of(text_or("#[0-9a-fA-FgG]{5,7}")),
        logo in prop::option::of(text_or("(https|http)://[a-z.\"]{1,12}/[a-z.]{0,8}")),
        extra in prop::option::of("[a-z]{1,6}"),
    ) {
        let mut site = serde_json::json!({ "product": product });
        for (name, value) in [("from", from), ("accent", accent), ("logo", logo), ("x", extra)] {
            if let Some(value) = value
                && (name != "x" || value.len() > 3)
            {
                site[name] = serde_json::Value::String(value);
            }
        }
        properties::branding(&serde_json::json!({ origin: site }).to_string());
    }

    #[test]
    fn catalogues_round_trip(text in text_or(
        "(([a-z_.\\[\\]]{0,10}|#[^\\n]{0,8}| )( = | =|=)?[^\\n]{0,12}\\r?\\n){0,6}"
    )) {
        properties::catalogue(&text);
    }

    #[test]
    fn every_property_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        properties::all(&bytes);
    }
}

/// Inputs a fuzzer or proptest broke a property with, kept so that they stay fixed.
#[test]
fn regressions() {
    for input in include_str!("parsers_regressions.txt").lines() {
        properties::all(input.as_bytes());
    }
}
