//! The widget, built and content-hashed by `build.rs`, embedded in the
//! binary with brotli and gzip versions compressed once at build time.

/// One asset as served.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub identity: &'static [u8],
    /// Brotli, quality 11.
    pub br: &'static [u8],
    /// Gzip, level 9.
    pub gzip: &'static [u8],
    /// A strong validator for `If-None-Match`, quoted.
    pub etag: &'static str,
}

/// The encodings an asset is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The smallest encoding `Accept-Encoding` allows (RFC 9110 §12.5.3):
    /// brotli, then gzip, then none. A coding with `q=0` is refused, and
    /// `*` stands for every coding not named.
    pub fn preferred(accept: Option<&str>) -> Encoding {
        let Some(accept) = accept else {
            return Encoding::Identity;
        };
        let weight = |coding: &str| -> Option<f32> {
            let mut star = None;
            for item in accept.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                    .unwrap_or(0.0);
                if name.eq_ignore_ascii_case(coding) {
                    return Some(q);
                }
                if name == "*" {
                    star = Some(q);
                }
            }
            star
        };
        let allowed = |coding| weight(coding).is_some_and(|q| q > 0.0);
        if allowed("br") {
            Encoding::Brotli
        } else if allowed("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

impl Asset {
    pub fn body(&self, encoding: Encoding) -> &'static [u8] {
        match encoding {
            Encoding::Brotli => self.br,
            Encoding::Gzip => self.gzip,
            Encoding::Identity => self.identity,
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/widget_assets.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_encoding_the_client_accepts_is_chosen() {
        for (accept, expected) in [
            (None, Encoding::Identity),
            (Some(""), Encoding::Identity),
            (Some("gzip, deflate, br, zstd"), Encoding::Brotli),
            (Some("gzip, deflate"), Encoding::Gzip),
            (Some("br;q=0, gzip;q=0.5"), Encoding::Gzip),
            (Some("BR"), Encoding::Brotli),
            (Some("*"), Encoding::Brotli),
            (Some("*;q=0, gzip"), Encoding::Gzip),
            (Some("br;q=0, gzip;q=0"), Encoding::Identity),
            (Some("identity"), Encoding::Identity),
            (Some("br;q=nonsense, gzip"), Encoding::Gzip),
        ] {
            assert_eq!(Encoding::preferred(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn precompressed_bodies_decompress_to_the_asset() {
        for asset in [
            LOADER_JS_SERVED,
            APP_JS_SERVED,
            WASM_SERVED,
            CSS_SERVED,
            PAGE_CSS_SERVED,
            LOCAL_TIME_JS_SERVED,
        ] {
            let mut br = Vec::new();
            brotli::BrotliDecompress(&mut &asset.br[..], &mut br).unwrap();
            assert_eq!(br, asset.identity);
            let mut gz = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(asset.gzip), &mut gz)
                .unwrap();
            assert_eq!(gz, asset.identity);
            assert!(asset.br.len() < asset.gzip.len() && asset.gzip.len() < asset.identity.len());
        }
    }
}
