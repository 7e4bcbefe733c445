//! Message catalogues: every piece of text a person reads comes from here, keyed by message id.
//!
//! Catalogues are Fluent files under `i18n/<language>/carepact.ftl`, embedded in the binary. English is complete;
//! adding Welsh (or any language) means adding its file to [`LANGUAGES`] — templates never change. The language is
//! the user's own setting if they chose one, otherwise the best match for the browser's `Accept-Language`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// (language tag, name in that language, catalogue source). The first is the fallback.
const LANGUAGES: &[(&str, &str, &str)] = &[("en", "English", include_str!("../i18n/en/carepact.ftl"))];

/// A language CarePact speaks: an index into the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(usize);

pub struct Catalogue {
    bundles: Vec<(LanguageIdentifier, FluentBundle<FluentResource>)>,
}

impl Catalogue {
    pub fn load() -> anyhow::Result<Self> {
        let mut bundles = Vec::new();
        for (tag, _, source) in LANGUAGES {
            let id: LanguageIdentifier = tag.parse().map_err(|e| anyhow::anyhow!("language tag {tag}: {e:?}"))?;
            let resource = FluentResource::try_new((*source).to_owned())
                .map_err(|(_, errors)| anyhow::anyhow!("catalogue {tag} does not parse: {errors:?}"))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
            // No Unicode isolation marks around arguments: pages are left-to-right and marks confuse copy-paste.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|errors| anyhow::anyhow!("catalogue {tag}: {errors:?}"))?;
            bundles.push((id, bundle));
        }
        Ok(Self { bundles })
    }

    /// The languages a person can choose: (tag, name in its own language).
    pub fn languages(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        LANGUAGES.iter().map(|(tag, name, _)| (*tag, *name))
    }

    pub fn lang_for_tag(&self, tag: &str) -> Option<Lang> {
        let wanted: LanguageIdentifier = tag.parse().ok()?;
        self.bundles
            .iter()
            .position(|(id, _)| id.language == wanted.language)
            .map(Lang)
    }

    pub fn tag(&self, lang: Lang) -> String {
        self.bundles
            .get(lang.0)
            .map(|(id, _)| id.to_string())
            .unwrap_or_else(|| "en".into())
    }

    /// Picks the language: the user's setting, else the browser's preferences in order of weight, else English.
    pub fn negotiate(&self, setting: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = setting.and_then(|s| self.lang_for_tag(s)) {
            return lang;
        }
        let mut wanted: Vec<(f32, &str)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut bits = part.trim().split(';');
                let tag = bits.next()?.trim();
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q="))
                    .map(|q| q.parse::<f32>().unwrap_or(0.0))
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        wanted
            .iter()
            .find_map(|(_, tag)| self.lang_for_tag(tag))
            .unwrap_or_default()
    }

    pub fn has(&self, lang: Lang, id: &str) -> bool {
        self.bundles.get(lang.0).is_some_and(|(_, b)| b.has_message(id))
    }

    /// The text for `id`, falling back to English, then to the id itself (and a log line) if it is missing.
    pub fn text(&self, lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for index in [lang.0, 0] {
            let Some((_, bundle)) = self.bundles.get(index) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(message_id = id, ?errors, "message formatting problem");
            }
            return text.into_owned();
        }
        tracing::error!(message_id = id, "message id missing from the catalogue");
        id.to_owned()
    }

    /// Every message id in the English catalogue (for tests that check templates use only known ids).
    pub fn english_ids(&self) -> Vec<String> {
        let source = LANGUAGES.first().map(|l| l.2).unwrap_or("");
        source
            .lines()
            .filter_map(|line| line.split_once(" =").map(|(id, _)| id.trim()))
            .filter(|id| !id.is_empty() && !id.starts_with('#') && !id.starts_with(' ') && !id.starts_with('.'))
            .map(str::to_owned)
            .collect()
    }
}

/// A catalogue bound to one language: what templates call `t` on.
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    pub catalogue: &'a Catalogue,
    pub lang: Lang,
}

impl Tr<'_> {
    pub fn t(&self, id: &str) -> String {
        self.catalogue.text(self.lang, id, None)
    }

    /// Text with named arguments, e.g. `t_with("welcome", &[("name", "Amina")])`.
    pub fn t_with(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fluent = FluentArgs::new();
        for (k, v) in args {
            // Counts are numbers, so plural forms ([one], [other]) choose by them; text that only looks like a
            // number with a leading zero (a phone number) stays text.
            let number = v
                .parse::<i64>()
                .ok()
                .filter(|_| *v == "0" || !v.starts_with(['0', '+', '-']));
            match number {
                Some(n) => fluent.set(*k, n),
                None => fluent.set(*k, (*v).to_owned()),
            }
        }
        self.catalogue.text(self.lang, id, Some(&fluent))
    }

    pub fn tag(&self) -> String {
        self.catalogue.tag(self.lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_choose_the_plural_form() {
        let c = Catalogue::load().unwrap();
        let tr = Tr {
            catalogue: &c,
            lang: c.negotiate(None, None),
        };
        assert_eq!(tr.t_with("access-log-count", &[("count", "1")]), "1 entry");
        assert_eq!(tr.t_with("access-log-count", &[("count", "12")]), "12 entries");
    }

    #[test]
    fn negotiates_and_falls_back() {
        let c = Catalogue::load().unwrap();
        assert_eq!(
            c.negotiate(None, Some("fr-FR,fr;q=0.9,en-GB;q=0.8")),
            c.lang_for_tag("en").unwrap()
        );
        assert_eq!(c.negotiate(Some("xx"), None), Lang(0));
        assert_eq!(c.negotiate(None, Some(";;,q=,")), Lang(0));
        let tr = Tr {
            catalogue: &c,
            lang: Lang(0),
        };
        assert_eq!(tr.t("service-name"), "CarePact");
        assert_eq!(tr.t("no-such-message"), "no-such-message");
    }
}
