//! Images a customer may attach: the formats browsers show without help
//! and that cannot carry script (so no SVG). The file's first bytes decide
//! what it is, never the name or the declared type alone, and its header
//! says how many pixels a browser would decode: a 1.5 MB PNG can declare
//! 40000×40000 pixels, 6.4 GB once decoded in a staff member's browser.

/// The most pixels an attached image may have (a 48 MP phone photo is
/// more; a 5K screenshot is 15 MP).
pub const MAX_PIXELS: u64 = 40_000_000;

/// Width and height as the image's own header declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

impl Dimensions {
    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether a browser may be asked to decode it.
    pub fn is_displayable(self) -> bool {
        self.width > 0 && self.height > 0 && self.pixels() <= MAX_PIXELS
    }
}

fn u16_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn u16_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn u24_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        0,
    ]))
}

fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// PNG: the IHDR chunk must come first, and APNG frames must fit in it.
fn png(b: &[u8]) -> Option<Dimensions> {
    (b.get(12..16)? == b"IHDR").then_some(())?;
    Some(Dimensions {
        width: u32_be(b, 16)?,
        height: u32_be(b, 20)?,
    })
}

/// JPEG: the first start-of-frame segment, found by walking the segments.
fn jpeg(b: &[u8]) -> Option<Dimensions> {
    let mut at = 2;
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        at += 2;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            // Start of scan or end of image before any frame header.
            0xDA | 0xD9 => return None,
            // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some(Dimensions {
                    height: u16_be(b, at + 3)?,
                    width: u16_be(b, at + 5)?,
                });
            }
            _ => at += usize::try_from(u16_be(b, at)?).ok()?,
        }
    }
}

/// GIF: the logical screen and every frame, which a decoder may let grow
/// past the screen.
fn gif(b: &[u8]) -> Option<Dimensions> {
    let mut width = u16_le(b, 6)?;
    let mut height = u16_le(b, 8)?;
    let flags = *b.get(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 7) + 1);
    }
    // Skips data sub-blocks: a size byte, then that many bytes, until 0.
    let skip_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let size = usize::from(*b.get(at)?);
            at += 1;
            if size == 0 {
                return Some(at);
            }
            at += size;
        }
    };
    loop {
        match *b.get(at)? {
            // Image descriptor: left, top, width, height, flags.
            0x2C => {
                width = width.max(u16_le(b, at + 1)? + u16_le(b, at + 5)?);
                height = height.max(u16_le(b, at + 3)? + u16_le(b, at + 7)?);
                let flags = *b.get(at + 9)?;
                at += 10;
                if flags & 0x80 != 0 {
                    at += 3 << ((flags & 7) + 1);
                }
                // LZW minimum code size, then the image data.
                at = skip_blocks(at + 1)?;
            }
            // Extension: its label, then sub-blocks.
            0x21 => at = skip_blocks(at + 2)?,
            // Trailer.
            0x3B => return Some(Dimensions { width, height }),
            _ => return None,
        }
    }
}

/// WebP: the canvas of an extended file, or the single frame's size.
fn webp(b: &[u8]) -> Option<Dimensions> {
    match b.get(12..16)? {
        b"VP8X" => Some(Dimensions {
            width: u24_le(b, 24)? + 1,
            height: u24_le(b, 27)? + 1,
        }),
        b"VP8L" => {
            (*b.get(20)? == 0x2F).then_some(())?;
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(Dimensions {
                width: (bits & 0x3FFF) + 1,
                height: ((bits >> 14) & 0x3FFF) + 1,
            })
        }
        b"VP8 " => {
            (b.get(23..26)? == [0x9D, 0x01, 0x2A]).then_some(())?;
            Some(Dimensions {
                width: u16_le(b, 26)? & 0x3FFF,
                height: u16_le(b, 28)? & 0x3FFF,
            })
        }
        _ => None,
    }
}

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

    /// The size the file's header declares, if it can be read.
    pub fn dimensions(self, bytes: &[u8]) -> Option<Dimensions> {
        match self {
            ImageType::Png => png(bytes),
            ImageType::Jpeg => jpeg(bytes),
            ImageType::Webp => webp(bytes),
            ImageType::Gif => gif(bytes),
        }
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

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn png_dimensions_come_from_ihdr() {
        let d = ImageType::Png.dimensions(&png_of(40_000, 40_000)).unwrap();
        assert_eq!((d.width, d.height), (40_000, 40_000));
        assert!(!d.is_displayable());
        assert!(
            ImageType::Png
                .dimensions(&png_of(1920, 1080))
                .unwrap()
                .is_displayable()
        );
        assert_eq!(ImageType::Png.dimensions(b"\x89PNG\r\n\x1a\n"), None);
    }

    #[test]
    fn jpeg_dimensions_come_from_the_first_frame_header_past_other_segments() {
        let mut b = vec![0xFF, 0xD8];
        // APP0 (JFIF), 16 bytes long, then fill bytes before the next marker.
        b.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        b.extend_from_slice(&[0; 14]);
        b.extend_from_slice(&[0xFF, 0xFF]);
        // A DHT segment must not be mistaken for a frame header.
        b.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x04, 0, 0]);
        // SOF2: length, precision, height 3000, width 4000.
        b.extend_from_slice(&[0xFF, 0xC2, 0x00, 0x11, 8, 0x0B, 0xB8, 0x0F, 0xA0]);
        let d = ImageType::Jpeg.dimensions(&b).unwrap();
        assert_eq!((d.width, d.height), (4_000, 3_000));
        assert_eq!(ImageType::Jpeg.dimensions(&[0xFF, 0xD8, 0xFF, 0xDA]), None);
        assert_eq!(
            ImageType::Jpeg.dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF]),
            None
        );
    }

    #[test]
    fn gif_dimensions_cover_frames_that_overflow_the_screen() {
        let mut b = b"GIF89a".to_vec();
        b.extend_from_slice(&[10, 0, 10, 0, 0x80, 0, 0]);
        b.extend_from_slice(&[0; 6]); // global colour table of 2
        // A graphic control extension.
        b.extend_from_slice(&[0x21, 0xF9, 4, 0, 0, 0, 0, 0]);
        // A frame at (100, 50) of 60000×200, no local table, one data block.
        b.push(0x2C);
        b.extend_from_slice(&100u16.to_le_bytes());
        b.extend_from_slice(&50u16.to_le_bytes());
        b.extend_from_slice(&60_000u16.to_le_bytes());
        b.extend_from_slice(&200u16.to_le_bytes());
        b.extend_from_slice(&[0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
        let d = ImageType::Gif.dimensions(&b).unwrap();
        assert_eq!((d.width, d.height), (60_100, 250));
        // Truncated before the trailer: unreadable.
        assert_eq!(ImageType::Gif.dimensions(&b[..b.len() - 1]), None);
    }

    #[test]
    fn webp_dimensions_for_each_bitstream() {
        let riff = |chunk: &[u8], data: &[u8]| {
            let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
            b.extend_from_slice(chunk);
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(data);
            b
        };
        // VP8X canvas 16777216 × 3 (stored minus one, 24-bit).
        let x = riff(b"VP8X", &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 2, 0, 0]);
        let d = ImageType::Webp.dimensions(&x).unwrap();
        assert_eq!((d.width, d.height), (16_777_216, 3));
        assert!(!d.is_displayable());
        // VP8L: 0x2F, then 14 bits width-1 (99) and 14 bits height-1 (49).
        let bits: u32 = 99 | (49 << 14);
        let mut l = vec![0x2F];
        l.extend_from_slice(&bits.to_le_bytes());
        let d = ImageType::Webp.dimensions(&riff(b"VP8L", &l)).unwrap();
        assert_eq!((d.width, d.height), (100, 50));
        // VP8: frame tag, start code, 14-bit width and height.
        let mut v = vec![0, 0, 0, 0x9D, 0x01, 0x2A];
        v.extend_from_slice(&640u16.to_le_bytes());
        v.extend_from_slice(&480u16.to_le_bytes());
        let d = ImageType::Webp.dimensions(&riff(b"VP8 ", &v)).unwrap();
        assert_eq!((d.width, d.height), (640, 480));
        assert_eq!(ImageType::Webp.dimensions(&riff(b"ALPH", &[])), None);
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
