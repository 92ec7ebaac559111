//! The console's form bodies: `application/x-www-form-urlencoded` and, for the certificate
//! upload, `multipart/form-data` (RFC 7578). Only what the console's own forms send: named
//! parts with an optional file name, no nested multipart, no transfer encodings. Bodies are
//! bounded before they get here (`MAX_BODY` in server.rs).

use std::collections::BTreeMap;

/// One form field: its text, or a file's bytes and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub bytes: Vec<u8>,
    pub filename: Option<String>,
}

/// A submitted form; a repeated name (checkboxes) keeps every value in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form(BTreeMap<String, Vec<Field>>);

impl Form {
    /// The field's first value as text, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .map(|f| String::from_utf8_lossy(&f.bytes).trim().to_owned())
            .unwrap_or_default()
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An uploaded file's bytes, when one was chosen (browsers send an empty part otherwise).
    pub fn file(&self, name: &str) -> Option<&Field> {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .filter(|f| !f.bytes.is_empty())
    }

    fn push(&mut self, name: String, field: Field) {
        self.0.entry(name).or_default().push(field);
    }
}

/// Parses a body by its `Content-Type`.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Form, String> {
    let content_type = content_type.unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Ok(urlencoded(body)),
        "multipart/form-data" => {
            let boundary =
                parameter(content_type, "boundary").ok_or("a multipart form without a boundary")?;
            multipart(&boundary, body)
        }
        other => Err(format!("a form was expected, not {other:?}")),
    }
}

fn urlencoded(body: &[u8]) -> Form {
    let mut form = Form::default();
    for (name, value) in url::form_urlencoded::parse(body) {
        form.push(
            name.into_owned(),
            Field {
                bytes: value.into_owned().into_bytes(),
                filename: None,
            },
        );
    }
    form
}

/// A header parameter's value (`boundary=x`, `name="x"`), unquoted.
fn parameter(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .to_owned()
        })
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn multipart(boundary: &str, body: &[u8]) -> Result<Form, String> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err("a multipart boundary must be 1 to 70 characters".into());
    }
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes()).ok_or("the multipart body has no parts")?;
    let mut rest = &body[start + delimiter.len()..];
    let separator = format!("\r\n--{boundary}");
    let mut form = Form::default();
    loop {
        if rest.starts_with(b"--") {
            return Ok(form);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a multipart delimiter must end its line")?;
        let end = find(rest, separator.as_bytes()).ok_or("the multipart body is cut short")?;
        let (part, after) = rest.split_at(end);
        rest = &after[separator.len()..];
        let header_end = find(part, b"\r\n\r\n").ok_or("a multipart part without headers")?;
        let headers = std::str::from_utf8(&part[..header_end])
            .map_err(|_| "multipart part headers must be UTF-8")?;
        let disposition = headers
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(value.trim())
            })
            .ok_or("a multipart part without Content-Disposition")?;
        let name = parameter(disposition, "name").ok_or("a multipart part without a name")?;
        form.push(
            name,
            Field {
                bytes: part[header_end + 4..].to_vec(),
                filename: parameter(disposition, "filename"),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=----WebKitFormBoundaryX1";

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, bytes) in parts {
            out.extend_from_slice(b"------WebKitFormBoundaryX1\r\n");
            let disposition = match filename {
                Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
                None => format!("form-data; name=\"{name}\""),
            };
            out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
            if filename.is_some() {
                out.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"------WebKitFormBoundaryX1--\r\n");
        out
    }

    #[test]
    fn reads_text_fields_and_a_binary_file_byte_for_byte() {
        // DER bytes that hold CR LF and dashes, as a certificate's may.
        let der: &[u8] = &[0x30, 0x82, 0x0d, 0x0a, b'-', b'-', 0x00, 0xff, 0x0d, 0x0a];
        let form = parse(
            Some(TYPE),
            &body(&[
                ("name", None, b" Corporate IdP "),
                ("certificate_file", Some("idp.cer"), der),
                ("certificate_text", None, b""),
            ]),
        )
        .unwrap();
        assert_eq!(form.text("name"), "Corporate IdP");
        let file = form.file("certificate_file").unwrap();
        assert_eq!(file.bytes, der);
        assert_eq!(file.filename.as_deref(), Some("idp.cer"));
        assert_eq!(form.file("certificate_text"), None);
        assert_eq!(form.text("absent"), "");
    }

    #[test]
    fn no_file_chosen_is_no_file() {
        let form = parse(Some(TYPE), &body(&[("certificate_file", Some(""), b"")])).unwrap();
        assert_eq!(form.file("certificate_file"), None);
    }

    #[test]
    fn a_quoted_boundary_and_repeated_fields_are_read() {
        let content_type = "multipart/form-data; boundary=\"----WebKitFormBoundaryX1\"";
        let form = parse(
            Some(content_type),
            &body(&[("grant", None, b"a"), ("grant", None, b"b")]),
        )
        .unwrap();
        assert_eq!(form.all("grant"), ["a", "b"]);
    }

    #[test]
    fn urlencoded_forms_keep_repeated_checkboxes() {
        let form = parse(
            Some("application/x-www-form-urlencoded"),
            b"name=My+app&grant_types=refresh_token&grant_types=urn%3Aietf%3Aparams",
        )
        .unwrap();
        assert_eq!(form.text("name"), "My app");
        assert_eq!(
            form.all("grant_types"),
            ["refresh_token", "urn:ietf:params"]
        );
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        assert!(parse(Some("application/json"), b"{}").is_err());
        assert!(parse(Some("multipart/form-data"), b"").is_err());
        let mut cut = body(&[("name", None, b"x")]);
        cut.truncate(cut.len() - 30);
        assert_eq!(
            parse(Some(TYPE), &cut).unwrap_err(),
            "the multipart body is cut short"
        );
        let no_name = b"------WebKitFormBoundaryX1\r\nContent-Disposition: form-data\r\n\r\nx\r\n\
                        ------WebKitFormBoundaryX1--";
        assert!(parse(Some(TYPE), no_name).is_err());
    }
}
