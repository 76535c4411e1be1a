//! Images a customer may attach: the formats browsers show without help
//! and that cannot carry script (so no SVG). The file's first bytes decide
//! what it is, never the name or the declared type alone.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageType {
    pub const ALL: [ImageType; 4] = [
        ImageType::Png,
        ImageType::Jpeg,
        ImageType::Webp,
        ImageType::Gif,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
            ImageType::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
            ImageType::Webp => "webp",
            ImageType::Gif => "gif",
        }
    }

    /// The declared type, ignoring parameters and case.
    pub fn from_mime(raw: &str) -> Option<ImageType> {
        let essence = raw.split(';').next()?.trim();
        ImageType::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(essence))
    }

    /// What the bytes are, by their signature.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageType::Gif)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n\0\0"),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(ImageType::sniff(b"GIF89a..."), Some(ImageType::Gif));
        assert_eq!(ImageType::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(ImageType::sniff(b""), None);
    }

    #[test]
    fn declared_types_ignore_case_and_parameters_but_not_svg() {
        assert_eq!(
            ImageType::from_mime("IMAGE/PNG; charset=x"),
            Some(ImageType::Png)
        );
        assert_eq!(ImageType::from_mime("image/svg+xml"), None);
    }
}
