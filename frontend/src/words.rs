//! The page's messages in the language it speaks. English is built in: `build.rs` numbers the
//! messages of `i18n/page/en.txt` and keeps their texts in [`ENGLISH`]. Another language's
//! messages arrive from the relay with the page's status, as a list in the same order; a slot
//! it leaves empty shows English.

use otp_relay_shared::Lang;
use otp_relay_shared::i18n::Plural;

/// A message, by the number `build.rs` gave it: only the generated constants make one, so a
/// number that is not a message cannot be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

/// A message with plural forms: the number of its first form; its six forms follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluralSlot(usize);

include!(concat!(env!("OUT_DIR"), "/words.rs"));

/// The messages of one language. Cheap to copy: the texts live as long as the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Words {
    pub lang: Lang,
    /// This language's text for each slot; where it has none, the English one.
    texts: &'static [Option<String>],
}

thread_local! {
    /// The languages this page has received, kept for its lifetime so that texts can be
    /// `'static` (what the view takes without copying) and later widgets reuse them. At most
    /// one entry per language the product speaks.
    static RECEIVED: std::cell::RefCell<Vec<Words>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Words {
    pub fn english() -> Words {
        Words {
            lang: Lang::En,
            texts: &[],
        }
    }

    /// `lang`'s messages as this page received them, if it has.
    pub fn received(lang: Lang) -> Option<Words> {
        if lang == Lang::En {
            return Some(Words::english());
        }
        RECEIVED.with(|received| received.borrow().iter().find(|w| w.lang == lang).copied())
    }

    /// Keeps `lang`'s messages, one per slot in the relay's order, for the page's lifetime (the
    /// first copy received of each language; later ones are dropped).
    pub fn receive(lang: Lang, texts: Vec<Option<String>>) -> Words {
        Words::received(lang).unwrap_or_else(|| {
            let words = Words {
                lang,
                texts: Vec::leak(texts),
            };
            RECEIVED.with(|received| received.borrow_mut().push(words));
            words
        })
    }

    /// Message `slot`, as it is.
    pub fn text(self, slot: Slot) -> &'static str {
        self.text_at(slot.0)
    }

    /// The text at a number, in this language or else English.
    #[inline(never)]
    fn text_at(self, slot: usize) -> &'static str {
        self.texts
            .get(slot)
            .and_then(Option::as_deref)
            .or_else(|| ENGLISH.split('\u{1f}').nth(slot))
            .unwrap_or_default()
    }

    /// Message `slot` split around its placeholder (`{email}`), if it has one: every page
    /// message has at most one (a test checks every language), so the view can set the value
    /// apart (the address in bold) wherever a language puts it.
    pub fn parts(self, slot: Slot) -> (&'static str, &'static str) {
        let text = self.text(slot);
        around_placeholder(text).unwrap_or((text, ""))
    }

    /// Message `slot` with `value` in place of its placeholder.
    pub fn say(self, slot: Slot, value: &str) -> String {
        Self::fill(self.text(slot), value)
    }

    fn fill(text: &'static str, value: &str) -> String {
        match around_placeholder(text) {
            Some((before, after)) => [before, value, after].concat(),
            None => text.to_string(),
        }
    }

    /// Plural message `slot` in the form this language gives `n`, with `n` in it.
    pub fn count(self, slot: PluralSlot, n: u64) -> String {
        let form = match slot.0 + self.lang.plural(n) as usize {
            form if self.text_at(form).is_empty() => slot.0 + Plural::Other as usize,
            form => form,
        };
        Self::fill(self.text_at(form), &n.to_string())
    }
}

fn around_placeholder(text: &'static str) -> Option<(&'static str, &'static str)> {
    let (before, rest) = text.split_once('{')?;
    Some((before, rest.split_once('}').map_or("", |(_, after)| after)))
}

#[cfg(test)]
pub fn builtin(lang: Lang) -> Words {
    let catalogue = otp_relay_shared::Catalogue::builtin(lang);
    let texts = catalogue.page_slot_texts();
    Words::receive(
        lang,
        texts.into_iter().map(|t| t.map(str::to_string)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_built_in_and_fills_placeholders() {
        let english = Words::english();
        assert_eq!(english.text(UI_TITLE), "Verify your email");
        assert_eq!(
            english.say(UI_HINT, "6"),
            "We will email you a 6-digit code."
        );
        assert_eq!(english.count(UI_RESEND_LEFT, 1), "Resend code (1 left)");
        assert_eq!(english.count(UI_RESEND_LEFT, 0), "Resend code (0 left)");
    }

    /// What `parts` relies on: no page message, in any language, has two placeholders.
    #[test]
    fn every_message_has_at_most_one_placeholder() {
        for lang in Lang::ALL {
            let words = builtin(lang);
            for slot in 0..SLOTS {
                let text = words.text_at(slot);
                assert!(text.matches('{').count() <= 1, "{}: {text}", lang.tag());
            }
        }
    }

    #[test]
    fn other_languages_use_their_plural_forms() {
        let german = builtin(Lang::De);
        assert_eq!(german.text(UI_TITLE), "E-Mail-Adresse bestätigen");
        assert_eq!(
            german.count(UI_RESEND_LEFT, 1),
            "Code erneut senden (noch 1-mal)"
        );
        assert_eq!(
            german.count(UI_RESEND_LEFT, 2),
            "Code erneut senden (noch 2-mal)"
        );
        let arabic = builtin(Lang::Ar);
        let forms: Vec<String> = [0, 1, 2, 3, 11, 100]
            .map(|n| arabic.count(UI_RESEND_LEFT, n))
            .into();
        for (i, form) in forms.iter().enumerate() {
            assert!(!form.is_empty() && !form.contains("{n}"), "{form}");
            assert!(
                forms[i + 1..].iter().all(|later| later != form),
                "{forms:?}"
            );
        }
        let japanese = builtin(Lang::Ja);
        assert!(japanese.count(UI_RESEND_LEFT, 1).contains('1'));
        // A slot a language leaves empty shows English rather than nothing.
        let partial = Words::receive(Lang::Fr, vec![None]);
        assert_eq!(partial.text(UI_TITLE), "Verify your email");
        assert_eq!(partial.parts(UI_SENT_TO), ("We sent a code to ", "."));
        assert_eq!(partial.say(UI_TITLE, "unused"), "Verify your email");
    }
}
