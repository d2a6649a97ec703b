//! Languages: which ones there are, how a person's preference picks one, each language's plural
//! rules (CLDR, for whole numbers), and the message catalogues translators edit.
//!
//! A catalogue is a plain text file, one message per line, so that a translator needs no Rust:
//!
//! ```text
//! # comment
//! email.subject = {code} is your verification code
//! refusal.wrong[one] = That code is not right. {n} attempt left.
//! refusal.wrong[other] = That code is not right. {n} attempts left.
//! ```
//!
//! `{name}` is a placeholder, kept as it is in every language. A message with a number has one
//! line per plural form the language uses (`zero`, `one`, `two`, `few`, `many`, `other`;
//! `other` always). The English catalogue is complete by definition, and a test checks that every
//! other one has every English message with the same placeholders.

/// The languages the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    De,
    Fr,
    Es,
    Pt,
    Ja,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 7] = [
        Lang::En,
        Lang::De,
        Lang::Fr,
        Lang::Es,
        Lang::Pt,
        Lang::Ja,
        Lang::Ar,
    ];

    /// The BCP 47 tag (`de`), as in `lang` attributes and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::Ja => "ja",
            Lang::Ar => "ar",
        }
    }

    /// Whether the language is written right to left.
    pub fn is_rtl(self) -> bool {
        self == Lang::Ar
    }

    /// The language of a tag such as `de-AT` or `pt_BR.UTF-8` (its primary subtag), if spoken.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        // The primary subtag: the letters up to the first other character (`-`, `_`, `.`).
        let tag = tag.trim_ascii();
        let primary = &tag[..tag.bytes().take_while(u8::is_ascii_alphabetic).count()];
        Lang::ALL
            .into_iter()
            .find(|lang| lang.tag().eq_ignore_ascii_case(primary))
    }

    /// The first spoken language of `tags`, in the order of preference given.
    pub fn first_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Lang> {
        tags.into_iter().find_map(Lang::from_tag)
    }

    /// The preferred spoken language of an `Accept-Language` header (`fr-CH, en;q=0.8`): the
    /// spoken one of highest quality, the first written among equals. It runs for every API
    /// request, so it allocates nothing.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = match parts.find_map(|p| p.trim().strip_prefix("q=")) {
                None => 1000,
                Some(q) => match q.trim().parse::<f32>() {
                    Ok(q) => (q * 1000.0) as u16,
                    Err(_) => continue,
                },
            };
            if quality == 0 || tag == "*" {
                continue;
            }
            if let Some(lang) = Lang::from_tag(tag)
                && best.is_none_or(|(top, _)| quality > top)
            {
                best = Some((quality, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The CLDR plural category of the whole number `n` in this language.
    pub fn plural(self, n: u64) -> Plural {
        let millions = n != 0 && n.is_multiple_of(1_000_000);
        match self {
            Lang::En | Lang::De => {
                if n == 1 {
                    Plural::One
                } else {
                    Plural::Other
                }
            }
            Lang::Es => match n {
                1 => Plural::One,
                _ if millions => Plural::Many,
                _ => Plural::Other,
            },
            Lang::Fr | Lang::Pt => match n {
                0 | 1 => Plural::One,
                _ if millions => Plural::Many,
                _ => Plural::Other,
            },
            Lang::Ja => Plural::Other,
            Lang::Ar => match (n, n % 100) {
                (0, _) => Plural::Zero,
                (1, _) => Plural::One,
                (2, _) => Plural::Two,
                (_, 3..=10) => Plural::Few,
                (_, 11..=99) => Plural::Many,
                _ => Plural::Other,
            },
        }
    }
}

/// A CLDR plural category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plural {
    Zero,
    One,
    Two,
    Few,
    Many,
    Other,
}

impl Plural {
    /// Every category, in the order of a plural message's slots (see [`page_slots`]).
    pub const ALL: [Plural; 6] = [
        Plural::Zero,
        Plural::One,
        Plural::Two,
        Plural::Few,
        Plural::Many,
        Plural::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Plural::Zero => "zero",
            Plural::One => "one",
            Plural::Two => "two",
            Plural::Few => "few",
            Plural::Many => "many",
            Plural::Other => "other",
        }
    }
}

/// The English messages of the email and the terminal client (`i18n/en.txt`).
pub const ENGLISH: &str = include_str!("../../i18n/en.txt");

/// The English messages of the page and the widget (`i18n/page/en.txt`), built into the wasm
/// (numbered by [`page_slots`]); another language's messages reach the browser with the relay's
/// status answer.
pub const PAGE_ENGLISH: &str = include_str!("../../i18n/page/en.txt");

/// Every language's email and terminal messages, for the relay and the terminal client.
pub const CATALOGUES: [(Lang, &str); 7] = [
    (Lang::En, ENGLISH),
    (Lang::De, include_str!("../../i18n/de.txt")),
    (Lang::Fr, include_str!("../../i18n/fr.txt")),
    (Lang::Es, include_str!("../../i18n/es.txt")),
    (Lang::Pt, include_str!("../../i18n/pt.txt")),
    (Lang::Ja, include_str!("../../i18n/ja.txt")),
    (Lang::Ar, include_str!("../../i18n/ar.txt")),
];

/// Every language's page and widget messages, which the relay serves to browsers (and the
/// terminal client uses for refusals).
pub const PAGE_CATALOGUES: [(Lang, &str); 7] = [
    (Lang::En, PAGE_ENGLISH),
    (Lang::De, include_str!("../../i18n/page/de.txt")),
    (Lang::Fr, include_str!("../../i18n/page/fr.txt")),
    (Lang::Es, include_str!("../../i18n/page/es.txt")),
    (Lang::Pt, include_str!("../../i18n/page/pt.txt")),
    (Lang::Ja, include_str!("../../i18n/page/ja.txt")),
    (Lang::Ar, include_str!("../../i18n/page/ar.txt")),
];

/// The page's message slots, in the order of the English page catalogue: a message takes one
/// slot, a message with a number six (`key[zero]` … `key[other]`, in [`Plural::ALL`] order).
/// The browser build numbers its messages this way (its build script calls this), and the relay
/// sends another language's messages as a list in this order, so no key is carried in the
/// download or over the network.
pub fn page_slots() -> Vec<String> {
    let mut slots: Vec<String> = Vec::new();
    for line in PAGE_ENGLISH.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.split_once(" =").map_or(line, |(key, _)| key).trim();
        match key.split_once('[') {
            Some((base, _)) => {
                let first = format!("{base}[{}]", Plural::ALL[0].name());
                if !slots.contains(&first) {
                    slots.extend(Plural::ALL.map(|form| format!("{base}[{}]", form.name())));
                }
            }
            None => slots.push(key.to_string()),
        }
    }
    slots
}

fn text_of(set: &[(Lang, &'static str); 7], lang: Lang) -> &'static str {
    set.iter()
        .find(|(l, _)| *l == lang)
        .map_or(set[0].1, |(_, text)| text)
}

/// One language's messages, sorted by key (a small sorted list keeps the browser's download
/// smaller than a hash map would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    pub lang: Lang,
    messages: Vec<(String, String)>,
}

impl Catalogue {
    /// Reads a catalogue; the error names the line that is not `key = text`.
    pub fn parse(lang: Lang, text: &str) -> Result<Catalogue, String> {
        let mut catalogue = Catalogue {
            lang,
            messages: Vec::new(),
        };
        catalogue.add(text)?;
        Ok(catalogue)
    }

    /// The catalogue as a file, one `key = text` a line in key order: what [`Catalogue::parse`]
    /// reads back as the same catalogue.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (key, message) in &self.messages {
            text.push_str(key);
            text.push_str(" = ");
            text.push_str(message);
            text.push('\n');
        }
        text
    }

    /// Adds the messages of another file of the same language.
    pub fn add(&mut self, text: &str) -> Result<(), String> {
        let lang = self.lang;
        let messages = &mut self.messages;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, message) = line
                .split_once(" = ")
                .or_else(|| line.strip_suffix(" =").map(|key| (key, "")))
                .ok_or_else(|| {
                    format!(
                        "{} line {}: not `key = text`: {line}",
                        lang.tag(),
                        number + 1
                    )
                })?;
            let key = key.trim();
            // A key is one word (`email.subject`, `ui.attempts[one]`): a line whose key would
            // hold a space, an `=` or a control character is not `key = text`.
            if key.is_empty()
                || key
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '=')
            {
                return Err(format!(
                    "{} line {}: not `key = text` (a key is one word): {line}",
                    lang.tag(),
                    number + 1
                ));
            }
            match messages.binary_search_by(|(known, _)| known.as_str().cmp(key)) {
                Ok(at) => messages[at].1 = message.to_string(),
                Err(at) => messages.insert(at, (key.to_string(), message.to_string())),
            }
        }
        Ok(())
    }

    /// Every message of `lang` (email, terminal, page), for the relay and the terminal client.
    pub fn builtin(lang: Lang) -> Catalogue {
        let mut catalogue = Catalogue {
            lang,
            messages: Vec::new(),
        };
        // The files are part of the build and a test parses every one of them.
        if catalogue.add(text_of(&CATALOGUES, lang)).is_err()
            || catalogue.add(text_of(&PAGE_CATALOGUES, lang)).is_err()
        {
            unreachable!("the built-in catalogue of {}", lang.tag());
        }
        catalogue
    }

    /// Every message of `lang`, parsed once for the life of the process (what the relay reads
    /// for each email and each status answer).
    pub fn of(lang: Lang) -> &'static Catalogue {
        static ALL: std::sync::OnceLock<Vec<Catalogue>> = std::sync::OnceLock::new();
        let all = ALL.get_or_init(|| Lang::ALL.into_iter().map(Catalogue::builtin).collect());
        let index = Lang::ALL.iter().position(|known| *known == lang);
        &all[index.unwrap_or_default()]
    }

    /// Every English message.
    pub fn english() -> Catalogue {
        Catalogue::builtin(Lang::En)
    }

    /// The page's English messages, all a browser carries until it needs another language.
    pub fn page_english() -> Catalogue {
        match Catalogue::parse(Lang::En, PAGE_ENGLISH) {
            Ok(catalogue) => catalogue,
            Err(error) => unreachable!("the page's English catalogue: {error}"),
        }
    }

    /// The page catalogue of `lang` as the relay serves it.
    pub fn page_text(lang: Lang) -> &'static str {
        text_of(&PAGE_CATALOGUES, lang)
    }

    /// This catalogue's text for each of [`page_slots`], `None` where it has none (a plural form
    /// the language does not use).
    pub fn page_slot_texts(&self) -> Vec<Option<&str>> {
        page_slots().iter().map(|slot| self.raw(slot)).collect()
    }

    /// Every key, plural forms included (`refusal.wrong[one]`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|(key, _)| key.as_str())
    }

    /// The raw text of `key`, if the catalogue has it.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.messages
            .binary_search_by(|(known, _)| known.as_str().cmp(key))
            .ok()
            .map(|at| self.messages[at].1.as_str())
    }

    /// The message `key` with its placeholders filled from `args`; the key itself when missing.
    pub fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.raw(key).unwrap_or(key), args)
    }

    /// The message `key` in the plural form of `n` (falling back to `other`), with `{n}` and
    /// `args` filled in.
    pub fn plural(&self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        let form = format!("{key}[{}]", self.lang.plural(n).name());
        let other = format!("{key}[other]");
        let template = self.raw(&form).or_else(|| self.raw(&other)).unwrap_or(key);
        let count = n.to_string();
        let mut all: Vec<(&str, &str)> = vec![("n", &count)];
        all.extend_from_slice(args);
        fill(template, &all)
    }

    /// Why a typed address is refused ([`crate::EmailError::message`]), in this language.
    pub fn address_refusal(&self, error: &crate::EmailError) -> String {
        match error.message() {
            (key, Some((name, value))) => self.text(key, &[(name, &value)]),
            (key, None) => self.text(key, &[]),
        }
    }

    /// How long to wait, as a refusal says it: whole seconds up to a minute and a half
    /// (`45 seconds`), then whole minutes, rounded up (`2 minutes`).
    pub fn wait(&self, seconds: u64) -> String {
        match seconds.max(1) {
            seconds @ 1..=90 => self.plural("time.seconds", seconds, &[]),
            seconds => self.plural("time.minutes", seconds.div_ceil(60), &[]),
        }
    }

    /// A duration as people say it: `5 minutes`, `1 min 30 s`.
    pub fn duration(&self, seconds: u64) -> String {
        match (seconds / 60, seconds % 60) {
            (0, s) => self.plural("time.seconds", s, &[]),
            (m, 0) => self.plural("time.minutes", m, &[]),
            (m, s) => self.text(
                "time.minutes_seconds",
                &[("m", &m.to_string()), ("s", &s.to_string())],
            ),
        }
    }
}

/// `template` with each `{name}` replaced by its value in `args`; unknown names stay.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(key, _)| *key == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders of a message, sorted: `{code}` and `{host}` → `["code", "host"]`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_pick_a_spoken_language() {
        assert_eq!(Lang::from_tag("de-AT"), Some(Lang::De));
        assert_eq!(Lang::from_tag("pt_BR.UTF-8"), Some(Lang::Pt));
        assert_eq!(Lang::from_tag("zh-CN"), None);
        assert_eq!(Lang::first_of(["zh", "ja-JP", "en"]), Some(Lang::Ja));
        assert_eq!(
            Lang::from_accept_language("zh-CN, fr-CH;q=0.9, en;q=0.95"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("ar;q=0.5, *;q=0.9"),
            Some(Lang::Ar)
        );
        assert_eq!(Lang::from_accept_language("es;q=0, nl"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn plural_rules_follow_cldr() {
        let forms = |lang: Lang, ns: &[u64]| -> Vec<&str> {
            ns.iter().map(|n| lang.plural(*n).name()).collect()
        };
        assert_eq!(forms(Lang::En, &[0, 1, 2]), ["other", "one", "other"]);
        assert_eq!(
            forms(Lang::Fr, &[0, 1, 2, 1_000_000]),
            ["one", "one", "other", "many"]
        );
        assert_eq!(forms(Lang::Pt, &[0, 1, 2]), ["one", "one", "other"]);
        assert_eq!(forms(Lang::Es, &[0, 1, 2]), ["other", "one", "other"]);
        assert_eq!(forms(Lang::Ja, &[1, 2]), ["other", "other"]);
        assert_eq!(
            forms(Lang::Ar, &[0, 1, 2, 3, 10, 11, 99, 100, 102, 103]),
            [
                "zero", "one", "two", "few", "few", "many", "many", "other", "other", "few"
            ]
        );
    }

    #[test]
    fn messages_fill_placeholders_and_pick_plural_forms() {
        let catalogue = Catalogue::parse(
            Lang::En,
            "# c\nhello = Hi {name}, {name}!\nleft[one] = {n} attempt left\nleft[other] = {n} attempts left\nempty =\n",
        )
        .unwrap();
        assert_eq!(catalogue.text("hello", &[("name", "Ada")]), "Hi Ada, Ada!");
        assert_eq!(catalogue.plural("left", 1, &[]), "1 attempt left");
        assert_eq!(catalogue.plural("left", 3, &[]), "3 attempts left");
        assert_eq!(catalogue.text("missing", &[]), "missing");
        assert_eq!(catalogue.raw("empty"), Some(""));
        assert_eq!(fill("{a} {b}", &[("a", "1")]), "1 {b}");
        assert_eq!(placeholders("{code} on {host}, {code}"), ["code", "host"]);
        assert!(Catalogue::parse(Lang::De, "no equals sign").is_err());
    }

    /// Every catalogue parses and has every English message, in every plural form its language
    /// uses, with the English placeholders (a plural form may leave out `{n}`, as Arabic's "one"
    /// does); and no message the English one lacks.
    #[test]
    fn every_catalogue_has_every_english_message_with_the_same_placeholders() {
        for set in [&CATALOGUES, &PAGE_CATALOGUES] {
            complete_like_english(set);
        }
    }

    fn complete_like_english(set: &[(Lang, &str); 7]) {
        let english = Catalogue::parse(Lang::En, set[0].1).unwrap();
        let base = |key: &str| key.split('[').next().unwrap_or(key).to_string();
        let mut english_messages: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for key in english.keys() {
            let mut names = placeholders(english.raw(key).unwrap_or_default());
            if key.contains('[') {
                names.retain(|name| name != "n");
            }
            english_messages.insert(base(key), names);
        }
        for (lang, text) in set {
            let (lang, text) = (*lang, *text);
            let catalogue = Catalogue::parse(lang, text).unwrap();
            for (message, names) in &english_messages {
                let plural = english.raw(&format!("{message}[other]")).is_some();
                let forms: Vec<String> = if plural {
                    let mut forms = vec![format!("{message}[other]")];
                    for n in 0..200u64 {
                        let form = format!("{message}[{}]", lang.plural(n).name());
                        if !forms.contains(&form) {
                            forms.push(form);
                        }
                    }
                    forms
                } else {
                    vec![message.clone()]
                };
                for form in forms {
                    let text = catalogue
                        .raw(&form)
                        .unwrap_or_else(|| panic!("{}: {form} is missing", lang.tag()));
                    let mut found = placeholders(text);
                    if plural {
                        found.retain(|name| name != "n");
                    }
                    assert_eq!(&found, names, "{}: {form}: {text}", lang.tag());
                    assert!(!text.trim().is_empty(), "{}: {form} is empty", lang.tag());
                }
            }
            for key in catalogue.keys() {
                assert!(
                    english_messages.contains_key(&base(key)),
                    "{}: {key} is not an English message",
                    lang.tag()
                );
            }
        }
    }

    #[test]
    fn page_slots_number_every_page_message_and_six_per_plural() {
        let slots = page_slots();
        let english = Catalogue::page_english();
        let plain = english.keys().filter(|key| !key.contains('[')).count();
        let plural_messages = english
            .keys()
            .filter(|key| key.ends_with("[other]"))
            .count();
        assert_eq!(slots.len(), plain + 6 * plural_messages);
        assert_eq!(slots[0], "ui.title");
        let wrong = slots
            .iter()
            .position(|slot| slot == "ui.resend_left[zero]")
            .unwrap();
        assert_eq!(slots[wrong + 5], "ui.resend_left[other]");
        let (arabic, german) = (Catalogue::builtin(Lang::Ar), Catalogue::builtin(Lang::De));
        let arabic = arabic.page_slot_texts();
        assert_eq!(arabic.len(), slots.len());
        assert!(arabic[wrong].is_some(), "Arabic has a zero form");
        let german = german.page_slot_texts();
        assert_eq!(german[wrong], None, "German has no zero form");
        assert!(german.iter().filter(|text| text.is_some()).count() > plain);
    }

    /// Every refusal of an address has its catalogue message, which `Display` says in English;
    /// in every other language it is another sentence.
    #[test]
    fn address_refusals_read_the_same_from_the_catalogue() {
        let english = Catalogue::english();
        let german = Catalogue::builtin(Lang::De);
        for error in crate::EmailError::every_kind() {
            let (key, placeholder) = error.message();
            // The placeholder named is the one the message has.
            if let Some((name, _)) = &placeholder {
                let text = english.raw(key).unwrap_or_default();
                assert!(text.contains(&format!("{{{name}}}")), "{key}: {text}");
            }
            assert_eq!(english.address_refusal(&error), error.to_string(), "{key}");
            assert_ne!(
                german.address_refusal(&error),
                english.address_refusal(&error),
                "{key}"
            );
        }
    }

    #[test]
    fn the_english_catalogue_parses_and_says_durations_naturally() {
        let english = Catalogue::english();
        assert_eq!(english.wait(0), "1 second");
        assert_eq!(english.wait(45), "45 seconds");
        assert_eq!(english.wait(90), "90 seconds");
        assert_eq!(english.wait(91), "2 minutes");
        assert_eq!(english.wait(3600), "60 minutes");
        assert_eq!(english.duration(60), "1 minute");
        assert_eq!(english.duration(300), "5 minutes");
        assert_eq!(english.duration(90), "1 min 30 s");
        assert_eq!(english.duration(1), "1 second");
    }
}
