//! Credential redaction for everything mlr prints or writes.
//!
//! URLs may carry `user:password@`; tokens may appear as query parameters.
//! Everything user-visible passes through [`redact_text`] or [`redact_url`].

/// Replace the userinfo of one URL with `****`.
pub fn redact_url(url: &str) -> String {
    redact_text(url)
}

/// Replace `scheme://user:pass@` userinfo in any URL inside `text`.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("****@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo() {
        assert_eq!(
            redact_text("fetch https://bob:s3cret@host.example/simple failed"),
            "fetch https://****@host.example/simple failed"
        );
        assert_eq!(
            redact_text("git+ssh://git@host/x.git"),
            "git+ssh://****@host/x.git"
        );
        assert_eq!(redact_text("no url here"), "no url here");
        assert_eq!(redact_text("http://host:5000/v2/"), "http://host:5000/v2/");
    }
}
