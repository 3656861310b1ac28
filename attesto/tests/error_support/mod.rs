//! A small, strict `WWW-Authenticate` parser (RFC 9110 §11.6.1) for the
//! error tests: it reads back what `attesto::error` renders, so tests assert
//! on parsed parameters instead of on string layout.
#![allow(dead_code, unreachable_pub)]

/// One parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Parsed {
    /// The value of the only parameter called `name`; panics if repeated.
    pub fn param(&self, name: &str) -> Option<&str> {
        let found: Vec<_> = self.params.iter().filter(|(n, _)| n == name).collect();
        assert!(found.len() <= 1, "parameter {name} repeated in {self:?}");
        found.first().map(|(_, v)| v.as_str())
    }

    pub fn count(&self, name: &str) -> usize {
        self.params.iter().filter(|(n, _)| n == name).count()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        String::from_utf8(self.b[start..self.i].to_vec()).unwrap()
    }
    fn quoted(&mut self) -> Result<String, String> {
        assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted-string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8(out).unwrap());
                }
                Some(b'\\') => {
                    let c = self
                        .b
                        .get(self.i + 1)
                        .copied()
                        .ok_or("dangling backslash")?;
                    if c < 0x20 || c == 0x7f {
                        return Err("escaped control character".into());
                    }
                    out.push(c);
                    self.i += 2;
                }
                Some(c) if c < 0x20 || c == 0x7f => {
                    return Err(format!("control character {c:#x} in quoted-string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// Parse a `WWW-Authenticate` value holding one or more challenges.
pub fn parse_challenges(s: &str) -> Result<Vec<Parsed>, String> {
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        while matches!(p.peek(), Some(b' ' | b'\t' | b',')) {
            p.i += 1;
        }
        if p.peek().is_none() {
            break;
        }
        let scheme = p.token();
        if scheme.is_empty() {
            return Err(format!("expected a scheme at byte {}", p.i));
        }
        let mut ch = Parsed {
            scheme,
            params: Vec::new(),
        };
        match p.peek() {
            None => {
                out.push(ch);
                break;
            }
            Some(b',') => {
                out.push(ch);
                continue;
            }
            Some(b' ') => p.ows(),
            Some(c) => return Err(format!("unexpected {:?} after scheme", c as char)),
        }
        loop {
            let save = p.i;
            let name = p.token();
            p.ows();
            if name.is_empty() || p.peek() != Some(b'=') {
                // Not a parameter: the start of the next challenge.
                p.i = save;
                if !name.is_empty() && ch.params.is_empty() {
                    return Err("token68 or junk after scheme".into());
                }
                break;
            }
            p.i += 1;
            p.ows();
            let value = if p.peek() == Some(b'"') {
                p.quoted()?
            } else {
                p.token()
            };
            ch.params.push((name.to_ascii_lowercase(), value));
            p.ows();
            match p.peek() {
                None => break,
                Some(b',') => {
                    p.i += 1;
                    p.ows();
                }
                Some(c) => return Err(format!("unexpected {:?} after parameter", c as char)),
            }
        }
        out.push(ch);
    }
    Ok(out)
}

/// Parse a value that must hold exactly one challenge.
pub fn parse_one(s: &str) -> Parsed {
    let mut v = parse_challenges(s).unwrap_or_else(|e| panic!("{e}: {s}"));
    assert_eq!(v.len(), 1, "expected one challenge in {s}");
    v.remove(0)
}

/// The values of every header called `name`.
pub fn header_values<'a>(headers: &'a [(&'static str, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Whether every byte is printable ASCII or space (a valid, unsplittable header value).
pub fn is_header_safe(v: &str) -> bool {
    v.bytes().all(|b| (0x20..=0x7e).contains(&b))
}
