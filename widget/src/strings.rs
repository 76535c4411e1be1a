//! Every customer-facing string, in English, German, French, Spanish and
//! Portuguese. The language comes from `data-locale`, else the browser's;
//! a host can replace any string through `Earshot.setStrings({key: text})`
//! with the keys of [`Key::name`]. A host translating into a language of its
//! own says which with `lang` (`{lang: "he", title: "…"}`); the dialog's
//! direction then follows the words themselves (`dir="auto"`).

use earshot_protocol::{Field, Kind, Severity, limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
    Fr,
    Es,
    Pt,
}

impl Lang {
    /// `data-locale` wins over the browser's language; anything we have no
    /// translation for gets English. Only the primary subtag counts
    /// (`pt-BR` → Portuguese).
    pub fn pick(locale: Option<&str>, browser: Option<&str>) -> Lang {
        [locale, browser]
            .into_iter()
            .flatten()
            .find_map(Lang::from_tag)
            .unwrap_or(Lang::En)
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" => Lang::En,
            "de" => Lang::De,
            "fr" => Lang::Fr,
            "es" => Lang::Es,
            "pt" => Lang::Pt,
            _ => return None,
        })
    }

    fn table(self) -> &'static [&'static str; KEYS] {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
            Lang::Fr => &FR,
            Lang::Es => &ES,
            Lang::Pt => &PT,
        }
    }
}

macro_rules! keys {
    ($($key:ident => $name:literal,)*) => {
        /// A string of the widget; `name()` is what hosts override it by.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key { $($key,)* }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$key,)*];

            pub fn name(self) -> &'static str {
                match self { $(Key::$key => $name,)* }
            }
        }
    };
}

keys! {
    Title => "title",
    KindLegend => "kind_legend",
    Complaint => "kind_complaint",
    Expectation => "kind_expectation",
    Idea => "kind_idea",
    Praise => "kind_praise",
    Question => "kind_question",
    Message => "message",
    Expected => "expected",
    Actual => "actual",
    Extra => "extra",
    Email => "email",
    Send => "send",
    Sending => "sending",
    Close => "close",
    Thanks => "thanks",
    Reference => "reference",
    StatusLink => "status_link",
    Another => "another",
    Unreachable => "unreachable",
    QueuedTitle => "queued_title",
    QueuedOffline => "queued_offline",
    QueuedRateLimited => "queued_rate_limited",
    RetrySeconds => "retry_seconds",
    RetryMinutes => "retry_minutes",
    TryNow => "try_now",
    NeedMessage => "need_message",
    NeedExpected => "need_expected",
    NeedActual => "need_actual",
    TooLong => "too_long",
    BadEmail => "bad_email",
    BadField => "bad_field",
    SeverityLegend => "severity_legend",
    Minor => "severity_minor",
    Annoying => "severity_annoying",
    Blocking => "severity_blocking",
    Name => "name",
    Included => "included",
    IncludedList => "included_list",
    PromiseIntro => "promise_intro",
    Screenshot => "screenshot",
    RemoveScreenshot => "remove_screenshot",
    BadImageType => "bad_image_type",
    BadImageSize => "bad_image_size",
    Uploading => "uploading",
    Attached => "attached",
    AttachFailed => "attach_failed",
    ScreenshotVolatile => "screenshot_volatile",
    NotFromHere => "not_from_here",
    AddDetails => "add_details",
    QueuedHereTitle => "queued_here_title",
    QueuedHere => "queued_here",
    QueuedHereRateLimited => "queued_here_rate_limited",
    // The BCP 47 tag of the words shown, for the dialog's `lang` (screen
    // readers pronounce by it).
    Lang => "lang",
}

const KEYS: usize = 54;

// In the order of `keys!`. `{n}` is a number filled in at run time.
const EN: [&str; KEYS] = [
    "Tell us what happened",
    "What is it about?",
    "Something went wrong",
    "Not what I expected",
    "An idea",
    "Praise",
    "A question",
    "Your message",
    "What did you expect?",
    "What happened instead?",
    "Anything else? (optional)",
    "Want a reply? Your email (optional)",
    "Send",
    "Sending…",
    "Close",
    "Thank you — we have it.",
    "Your reference",
    "Follow what happens",
    "Send something else",
    "We could not reach our server. Your text is still here — please try again in a moment.",
    "Saved — not sent yet",
    "We could not reach our server. Your message is saved on this device and we will send it when you're back online, even if you close this page.",
    "Too many messages are arriving just now. Your message is saved on this device and we will send it automatically",
    " in about {n} seconds.",
    " in about {n} minutes.",
    "Try now",
    "Please write a few words.",
    "Please tell us what you expected.",
    "Please tell us what happened instead.",
    "Please keep this under {n} characters.",
    "That email address does not look right.",
    "Something about this field is not right.",
    "How much does this affect you? (optional)",
    "Minor",
    "Annoying",
    "Blocking",
    "Your name (optional)",
    "We'll include",
    "this page's address and title, your browser, language, time zone and window size",
    "What to expect:",
    "Add a screenshot (optional)",
    "Remove",
    "Please choose a PNG, JPEG, WebP or GIF image.",
    "Please choose an image under 2 MB.",
    "Attaching your screenshot…",
    "Your screenshot is attached.",
    "We could not attach your screenshot; your message arrived without it.",
    "Your screenshot is kept only while this page stays open.",
    "Feedback cannot be sent from this page: this website is not set up for it yet. Your text is kept here.",
    "Add your email for a reply, your name or a screenshot",
    "Not sent yet — keep this page open",
    "Your browser does not let us keep your message on this device, so it waits in this page: we will send it as soon as we can reach our server.",
    "Too many messages are arriving just now. Your message waits in this page and we will send it automatically",
    "en",
];

const DE: [&str; KEYS] = [
    "Erzählen Sie uns, was passiert ist",
    "Worum geht es?",
    "Etwas ist schiefgelaufen",
    "Nicht, was ich erwartet habe",
    "Eine Idee",
    "Lob",
    "Eine Frage",
    "Ihre Nachricht",
    "Was haben Sie erwartet?",
    "Was ist stattdessen passiert?",
    "Sonst noch etwas? (optional)",
    "Antwort gewünscht? Ihre E-Mail (optional)",
    "Senden",
    "Wird gesendet…",
    "Schließen",
    "Danke — wir haben es erhalten.",
    "Ihre Referenz",
    "Verfolgen, was passiert",
    "Etwas anderes senden",
    "Wir konnten unseren Server nicht erreichen. Ihr Text ist noch da — bitte versuchen Sie es gleich noch einmal.",
    "Gespeichert — noch nicht gesendet",
    "Wir konnten unseren Server nicht erreichen. Ihre Nachricht ist auf diesem Gerät gespeichert und wird gesendet, sobald Sie wieder online sind, auch wenn Sie diese Seite schließen.",
    "Gerade kommen zu viele Nachrichten an. Ihre Nachricht ist auf diesem Gerät gespeichert und wird automatisch gesendet",
    " in etwa {n} Sekunden.",
    " in etwa {n} Minuten.",
    "Jetzt versuchen",
    "Bitte schreiben Sie ein paar Worte.",
    "Bitte sagen Sie uns, was Sie erwartet haben.",
    "Bitte sagen Sie uns, was stattdessen passiert ist.",
    "Bitte bleiben Sie unter {n} Zeichen.",
    "Diese E-Mail-Adresse scheint nicht zu stimmen.",
    "Mit diesem Feld stimmt etwas nicht.",
    "Wie sehr betrifft Sie das? (optional)",
    "Kaum",
    "Ärgerlich",
    "Blockiert mich",
    "Ihr Name (optional)",
    "Wir senden mit",
    "Adresse und Titel dieser Seite, Ihren Browser, Ihre Sprache, Zeitzone und Fenstergröße",
    "Was Sie erwarten können:",
    "Screenshot hinzufügen (optional)",
    "Entfernen",
    "Bitte wählen Sie ein PNG-, JPEG-, WebP- oder GIF-Bild.",
    "Bitte wählen Sie ein Bild unter 2 MB.",
    "Ihr Screenshot wird angehängt…",
    "Ihr Screenshot ist angehängt.",
    "Wir konnten Ihren Screenshot nicht anhängen; Ihre Nachricht kam ohne ihn an.",
    "Ihr Screenshot bleibt nur erhalten, solange diese Seite offen ist.",
    "Von dieser Seite kann kein Feedback gesendet werden: Die Website ist dafür noch nicht eingerichtet. Ihr Text bleibt hier erhalten.",
    "E-Mail für eine Antwort, Name oder Screenshot hinzufügen",
    "Noch nicht gesendet — lassen Sie diese Seite geöffnet",
    "Ihr Browser lässt uns die Nachricht nicht auf diesem Gerät speichern. Sie wartet in dieser Seite und wird gesendet, sobald wir unseren Server erreichen.",
    "Gerade kommen zu viele Nachrichten an. Ihre Nachricht wartet in dieser Seite und wird automatisch gesendet",
    "de",
];

const FR: [&str; KEYS] = [
    "Dites-nous ce qui s'est passé",
    "De quoi s'agit-il ?",
    "Quelque chose n'a pas marché",
    "Pas ce que j'attendais",
    "Une idée",
    "Un compliment",
    "Une question",
    "Votre message",
    "Qu'attendiez-vous ?",
    "Que s'est-il passé à la place ?",
    "Autre chose ? (facultatif)",
    "Une réponse ? Votre e-mail (facultatif)",
    "Envoyer",
    "Envoi…",
    "Fermer",
    "Merci — nous l'avons bien reçu.",
    "Votre référence",
    "Suivre la suite",
    "Envoyer autre chose",
    "Impossible de joindre notre serveur. Votre texte est toujours là — réessayez dans un instant.",
    "Enregistré — pas encore envoyé",
    "Impossible de joindre notre serveur. Votre message est enregistré sur cet appareil et sera envoyé dès que vous serez de nouveau en ligne, même si vous fermez cette page.",
    "Trop de messages arrivent en ce moment. Votre message est enregistré sur cet appareil et sera envoyé automatiquement",
    " dans environ {n} secondes.",
    " dans environ {n} minutes.",
    "Réessayer",
    "Écrivez quelques mots, s'il vous plaît.",
    "Dites-nous ce que vous attendiez.",
    "Dites-nous ce qui s'est passé à la place.",
    "Restez sous {n} caractères, s'il vous plaît.",
    "Cette adresse e-mail ne semble pas correcte.",
    "Quelque chose ne va pas dans ce champ.",
    "À quel point cela vous gêne-t-il ? (facultatif)",
    "Un peu",
    "Agaçant",
    "Bloquant",
    "Votre nom (facultatif)",
    "Nous joignons",
    "l'adresse et le titre de cette page, votre navigateur, votre langue, votre fuseau horaire et la taille de la fenêtre",
    "À quoi vous attendre :",
    "Ajouter une capture d'écran (facultatif)",
    "Retirer",
    "Choisissez une image PNG, JPEG, WebP ou GIF.",
    "Choisissez une image de moins de 2 Mo.",
    "Envoi de votre capture d'écran…",
    "Votre capture d'écran est jointe.",
    "Impossible de joindre votre capture d'écran ; votre message est arrivé sans elle.",
    "Votre capture d'écran n'est conservée que tant que cette page reste ouverte.",
    "Impossible d'envoyer un avis depuis cette page : le site n'est pas encore configuré pour cela. Votre texte est conservé ici.",
    "Ajouter votre e-mail pour une réponse, votre nom ou une capture d'écran",
    "Pas encore envoyé — gardez cette page ouverte",
    "Votre navigateur ne nous permet pas d'enregistrer votre message sur cet appareil : il attend dans cette page et sera envoyé dès que notre serveur sera joignable.",
    "Trop de messages arrivent en ce moment. Votre message attend dans cette page et sera envoyé automatiquement",
    "fr",
];

const ES: [&str; KEYS] = [
    "Cuéntenos qué pasó",
    "¿De qué se trata?",
    "Algo salió mal",
    "No es lo que esperaba",
    "Una idea",
    "Un elogio",
    "Una pregunta",
    "Su mensaje",
    "¿Qué esperaba?",
    "¿Qué pasó en su lugar?",
    "¿Algo más? (opcional)",
    "¿Quiere respuesta? Su correo (opcional)",
    "Enviar",
    "Enviando…",
    "Cerrar",
    "Gracias — lo hemos recibido.",
    "Su referencia",
    "Seguir lo que pasa",
    "Enviar otra cosa",
    "No pudimos contactar con nuestro servidor. Su texto sigue aquí — inténtelo de nuevo en un momento.",
    "Guardado — aún no enviado",
    "No pudimos contactar con nuestro servidor. Su mensaje está guardado en este dispositivo y lo enviaremos cuando vuelva a estar en línea, aunque cierre esta página.",
    "Están llegando demasiados mensajes ahora mismo. Su mensaje está guardado en este dispositivo y lo enviaremos automáticamente",
    " en unos {n} segundos.",
    " en unos {n} minutos.",
    "Intentar ahora",
    "Escriba unas palabras, por favor.",
    "Díganos qué esperaba.",
    "Díganos qué pasó en su lugar.",
    "Manténgalo por debajo de {n} caracteres.",
    "Esa dirección de correo no parece correcta.",
    "Algo no está bien en este campo.",
    "¿Cuánto le afecta? (opcional)",
    "Poco",
    "Molesto",
    "Me bloquea",
    "Su nombre (opcional)",
    "Incluiremos",
    "la dirección y el título de esta página, su navegador, idioma, zona horaria y tamaño de ventana",
    "Qué esperar:",
    "Añadir una captura de pantalla (opcional)",
    "Quitar",
    "Elija una imagen PNG, JPEG, WebP o GIF.",
    "Elija una imagen de menos de 2 MB.",
    "Adjuntando su captura…",
    "Su captura está adjunta.",
    "No pudimos adjuntar su captura; su mensaje llegó sin ella.",
    "Su captura solo se conserva mientras esta página siga abierta.",
    "No se pueden enviar comentarios desde esta página: el sitio aún no está configurado para ello. Tu texto se conserva aquí.",
    "Añadir tu correo para una respuesta, tu nombre o una captura",
    "Aún no enviado — mantenga esta página abierta",
    "Su navegador no nos permite guardar el mensaje en este dispositivo: espera en esta página y lo enviaremos en cuanto podamos contactar con nuestro servidor.",
    "Están llegando demasiados mensajes ahora mismo. Su mensaje espera en esta página y lo enviaremos automáticamente",
    "es",
];

const PT: [&str; KEYS] = [
    "Conte-nos o que aconteceu",
    "Sobre o que é?",
    "Algo deu errado",
    "Não era o que eu esperava",
    "Uma ideia",
    "Um elogio",
    "Uma pergunta",
    "Sua mensagem",
    "O que você esperava?",
    "O que aconteceu em vez disso?",
    "Mais alguma coisa? (opcional)",
    "Quer uma resposta? Seu e-mail (opcional)",
    "Enviar",
    "Enviando…",
    "Fechar",
    "Obrigado — recebemos.",
    "Sua referência",
    "Acompanhar o que acontece",
    "Enviar outra coisa",
    "Não conseguimos falar com nosso servidor. Seu texto continua aqui — tente de novo em instantes.",
    "Guardado — ainda não enviado",
    "Não conseguimos falar com nosso servidor. Sua mensagem está guardada neste dispositivo e será enviada quando você estiver online de novo, mesmo que feche esta página.",
    "Muitas mensagens estão chegando agora. Sua mensagem está guardada neste dispositivo e será enviada automaticamente",
    " em cerca de {n} segundos.",
    " em cerca de {n} minutos.",
    "Tentar agora",
    "Escreva algumas palavras, por favor.",
    "Conte-nos o que você esperava.",
    "Conte-nos o que aconteceu em vez disso.",
    "Mantenha abaixo de {n} caracteres.",
    "Esse endereço de e-mail não parece correto.",
    "Algo neste campo não está certo.",
    "Quanto isso afeta você? (opcional)",
    "Pouco",
    "Irritante",
    "Me impede",
    "Seu nome (opcional)",
    "Vamos incluir",
    "o endereço e o título desta página, seu navegador, idioma, fuso horário e tamanho da janela",
    "O que esperar:",
    "Adicionar uma captura de tela (opcional)",
    "Remover",
    "Escolha uma imagem PNG, JPEG, WebP ou GIF.",
    "Escolha uma imagem com menos de 2 MB.",
    "Anexando sua captura…",
    "Sua captura está anexada.",
    "Não conseguimos anexar sua captura; sua mensagem chegou sem ela.",
    "Sua captura só fica guardada enquanto esta página estiver aberta.",
    "Não é possível enviar comentários a partir desta página: o site ainda não está configurado para isso. O seu texto fica guardado aqui.",
    "Adicionar o seu e-mail para uma resposta, o seu nome ou uma captura de ecrã",
    "Ainda não enviado — mantenha esta página aberta",
    "O seu navegador não nos deixa guardar a mensagem neste dispositivo: ela espera nesta página e será enviada assim que conseguirmos falar com nosso servidor.",
    "Muitas mensagens estão chegando agora. Sua mensagem espera nesta página e será enviada automaticamente",
    "pt",
];

/// The strings in force: a language plus the host's replacements.
#[derive(Debug, Clone, PartialEq)]
pub struct Strings {
    lang: Lang,
    overrides: Vec<(Key, String)>,
}

impl Default for Strings {
    fn default() -> Self {
        Strings::new(Lang::En)
    }
}

impl Strings {
    pub fn new(lang: Lang) -> Self {
        Strings {
            lang,
            overrides: Vec::new(),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Adds the host's replacements; unknown keys are ignored (a page
    /// written for a newer widget must not break an older one).
    pub fn override_with(&mut self, entries: Vec<(String, String)>) {
        for (name, text) in entries {
            if let Some(key) = Key::ALL.iter().copied().find(|k| k.name() == name) {
                self.overrides.retain(|(k, _)| *k != key);
                self.overrides.push((key, text));
            }
        }
    }

    pub fn get(&self, key: Key) -> &str {
        self.overrides
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(self.lang.table()[key as usize], |(_, text)| text.as_str())
    }

    /// The string with every `{n}` (a host's own string may have none, or
    /// two, and other braces) made `n`.
    fn with_number(&self, key: Key, n: u64) -> String {
        // Split at a char, not searched for as a string: `str::replace`
        // brought the two-way string search into the WebAssembly.
        let number = n.to_string();
        let mut rest = self.get(key);
        let mut out = String::with_capacity(rest.len() + number.len());
        while let Some((head, tail)) = rest.split_once('{') {
            out.push_str(head);
            match tail.strip_prefix("n}") {
                Some(after) => {
                    out.push_str(&number);
                    rest = after;
                }
                None => {
                    out.push('{');
                    rest = tail;
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn severity(&self, severity: Severity) -> &str {
        self.get(match severity {
            Severity::Minor => Key::Minor,
            Severity::Annoying => Key::Annoying,
            Severity::Blocking => Key::Blocking,
        })
    }

    pub fn kind(&self, kind: Kind) -> &str {
        self.get(match kind {
            Kind::Complaint => Key::Complaint,
            Kind::Expectation => Key::Expectation,
            Kind::Idea => Key::Idea,
            Kind::Praise => Key::Praise,
            Kind::Question => Key::Question,
        })
    }

    /// "… in about 2 minutes." for a retry `secs` from now.
    pub fn retry_in(&self, secs: f64) -> String {
        let secs = secs.max(1.0).ceil() as u64;
        if secs < 90 {
            self.with_number(Key::RetrySeconds, secs)
        } else {
            self.with_number(Key::RetryMinutes, secs.div_ceil(60))
        }
    }

    /// What to tell the customer about a broken rule, from the error's
    /// stable `code` and `field` (the collector's own message is English).
    pub fn field_error(&self, field: Option<&str>, code: &str) -> String {
        let field = field.unwrap_or_default();
        match (field, code) {
            ("message", "required") => self.get(Key::NeedMessage).to_owned(),
            ("expected", "required") => self.get(Key::NeedExpected).to_owned(),
            ("actual", "required") => self.get(Key::NeedActual).to_owned(),
            (_, "too_long") => match limit_of(field) {
                Some(max) => self.with_number(Key::TooLong, max as u64),
                None => self.get(Key::BadField).to_owned(),
            },
            ("email", _) => self.get(Key::BadEmail).to_owned(),
            _ => self.get(Key::BadField).to_owned(),
        }
    }
}

/// The limit of a field the customer types into.
fn limit_of(field: &str) -> Option<usize> {
    Some(match field {
        f if f == Field::Message.as_str() => limits::MESSAGE_MAX,
        f if f == Field::Expected.as_str() => limits::EXPECTED_MAX,
        f if f == Field::Actual.as_str() => limits::ACTUAL_MAX,
        f if f == Field::Email.as_str() => limits::EMAIL_MAX,
        f if f == Field::Name.as_str() => limits::NAME_MAX,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_its_place_in_every_table() {
        assert_eq!(Key::ALL.len(), KEYS);
        for (i, key) in Key::ALL.iter().enumerate() {
            assert_eq!(*key as usize, i, "{}", key.name());
        }
        for table in [&EN, &DE, &FR, &ES, &PT] {
            assert!(table.iter().all(|s| !s.is_empty()));
            // Placeholders survive translation.
            for key in [Key::RetrySeconds, Key::RetryMinutes, Key::TooLong] {
                assert!(table[key as usize].contains("{n}"), "{}", key.name());
            }
        }
    }

    #[test]
    fn the_host_locale_wins_then_the_browser_then_english() {
        assert_eq!(Lang::pick(Some("de"), Some("fr-FR")), Lang::De);
        assert_eq!(Lang::pick(None, Some("pt-BR")), Lang::Pt);
        assert_eq!(Lang::pick(Some("xx"), Some("es_MX")), Lang::Es);
        assert_eq!(Lang::pick(Some("ja"), Some("zh")), Lang::En);
        assert_eq!(Lang::pick(None, None), Lang::En);
    }

    #[test]
    fn hosts_override_single_strings_and_unknown_keys_are_ignored() {
        let mut s = Strings::new(Lang::De);
        s.override_with(vec![
            ("send".into(), "Abschicken".into()),
            ("no_such_key".into(), "x".into()),
        ]);
        assert_eq!(s.get(Key::Send), "Abschicken");
        assert_eq!(s.get(Key::Close), "Schließen");
        s.override_with(vec![("send".into(), "Los".into())]);
        assert_eq!(s.get(Key::Send), "Los");
    }

    #[test]
    fn the_dialogs_language_is_the_hosts_once_it_names_one() {
        assert_eq!(Strings::new(Lang::Pt).get(Key::Lang), "pt");
        let mut s = Strings::new(Lang::En);
        s.override_with(vec![("title".into(), "ספרו לנו מה קרה".into())]);
        assert_eq!(s.get(Key::Lang), "en", "no language named");
        s.override_with(vec![("lang".into(), "he".into())]);
        assert_eq!(s.get(Key::Lang), "he");
    }

    #[test]
    fn errors_are_told_in_the_customers_language_with_the_limit() {
        let fr = Strings::new(Lang::Fr);
        assert_eq!(
            fr.field_error(Some("message"), "too_long"),
            "Restez sous 5000 caractères, s'il vous plaît."
        );
        assert_eq!(
            fr.field_error(Some("email"), "invalid_email"),
            "Cette adresse e-mail ne semble pas correcte."
        );
        assert_eq!(
            Strings::default().field_error(None, "weird"),
            "Something about this field is not right."
        );
        assert_eq!(Strings::default().retry_in(42.2), " in about 43 seconds.");
        assert_eq!(Strings::default().retry_in(150.0), " in about 3 minutes.");
    }

    #[test]
    fn a_hosts_own_string_gets_the_number_wherever_it_asks_for_it() {
        let mut s = Strings::new(Lang::En);
        for (own, told) in [
            (
                "{n} characters at most ({n}!)",
                "5000 characters at most (5000!)",
            ),
            ("{{n}} {x} {n", "{5000} {x} {n"),
            ("Too long.", "Too long."),
        ] {
            s.override_with(vec![("too_long".into(), own.into())]);
            assert_eq!(s.field_error(Some("message"), "too_long"), told);
        }
    }
}
