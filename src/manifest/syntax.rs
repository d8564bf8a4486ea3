//! The grammar of single `ml.toml` values (versions, names, URLs, paths,
//! durations), each a pure check that explains what it expected.

use std::fmt;

/// Why a value was rejected, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub hint: Option<String>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub type Check<T = ()> = Result<T, Invalid>;

/// A user value quoted in a message: escaped, and cut short so a 1 MB
/// string does not become a 1 MB error.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 60;
        if self.0.is_empty() {
            return f.write_str("\"\"");
        }
        let escaped: String = self
            .0
            .chars()
            .flat_map(char::escape_debug)
            .take(MAX + 1)
            .collect();
        if escaped.chars().count() > MAX {
            let cut: String = escaped.chars().take(MAX - 1).collect();
            write!(f, "`{cut}…`")
        } else {
            write!(f, "`{escaped}`")
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Dot-separated runs of digits, `min..=max` of them.
fn dotted_numbers(s: &str, min: usize, max: usize) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (min..=max).contains(&parts.len()) && parts.iter().all(|p| digits(p))
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

pub fn cuda_version(s: &str) -> Check {
    if dotted_numbers(s, 2, 3) {
        Ok(())
    } else {
        Err(Invalid::new(format!("{} is not a CUDA version", Shown(s)))
            .hint("write `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, for example `12.4` or `11.8.0`"))
    }
}

pub fn cudnn_version(s: &str) -> Check {
    if digits(s) {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not a cuDNN major version", Shown(s)))
                .hint("write the major version only, for example `cudnn = \"8\"`"),
        )
    }
}

pub fn cuda_arch(s: &str) -> Check {
    if dotted_numbers(s.strip_suffix("+PTX").unwrap_or(s), 2, 2) {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not a CUDA compute capability", Shown(s)))
                .hint("write `X.Y` or `X.Y+PTX`, for example `8.0` or `8.6+PTX`"),
        )
    }
}

pub fn python_version(s: &str) -> Check {
    match s.split_once('.') {
        Some(("3", rest)) if dotted_numbers(rest, 1, 2) => Ok(()),
        _ => Err(
            Invalid::new(format!("{} is not a Python version", Shown(s)))
                .hint("write `3.X` or `3.X.Y`, for example `3.11`"),
        ),
    }
}

/// One `/`-separated part of a repository name (the distribution spec):
/// lowercase letters and digits, with `.`, `_` or `-` between them.
pub fn repository_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(&x))
}

/// An image name such as `esmfold` or `team/esmfold`.
pub fn project_name(s: &str) -> Check {
    if s.len() <= 128 && s.split('/').all(repository_component) {
        Ok(())
    } else {
        Err(Invalid::new(format!("{} is not a valid image name", Shown(s)))
            .hint("use lowercase letters, digits, `.`, `_`, `-` (and `/` between parts), for example `esmfold`"))
    }
}

/// A Debian package request, `name` or `name=version`; returns the name.
pub fn apt_request(s: &str) -> Check<&str> {
    let (name, version) = match s.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (s, None),
    };
    let b = name.as_bytes();
    let name_ok = b.len() >= 2
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+.-".contains(&c));
    if !name_ok {
        let hint = if name.contains(':') {
            "the architecture comes from `[project] platforms`; write the package name only"
        } else {
            "Debian package names are lowercase letters, digits and `+`, `.`, `-`, for example `libgl1`"
        };
        return Err(
            Invalid::new(format!("{} is not a Debian package name", Shown(name))).hint(hint),
        );
    }
    if let Some(v) = version {
        let vb = v.as_bytes();
        let ok = !vb.is_empty()
            && vb[0].is_ascii_digit()
            && vb
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b".+~:-".contains(&c));
        if !ok {
            return Err(
                Invalid::new(format!("{} is not a Debian version", Shown(v)))
                    .hint("write `name=version`, for example `git=1:2.34.1-1ubuntu1`"),
            );
        }
    }
    Ok(name)
}

/// `YYYYMMDDTHHMMSSZ` (a real UTC time) or `auto`.
pub fn apt_snapshot(s: &str) -> Check {
    let invalid = || {
        Invalid::new(format!("{} is not a snapshot timestamp", Shown(s)))
            .hint("write `YYYYMMDDTHHMMSSZ` in UTC, for example `20250520T000000Z`, or `auto`")
    };
    if s == "auto" {
        return Ok(());
    }
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(invalid());
    }
    let num = |r: std::ops::Range<usize>| {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse::<u32>().ok()
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(4..6),
        num(6..8),
        num(9..11),
        num(11..13),
        num(13..15),
    ) else {
        return Err(invalid());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if year < 1970 || day == 0 || day > days_in_month || hour > 23 || min > 59 || sec > 59 {
        return Err(invalid());
    }
    Ok(())
}

/// Docker/Go durations with integer amounts: `30s`, `1m30s`, `500ms`, `1h`.
pub fn duration(s: &str) -> Check {
    let invalid = || {
        Invalid::new(format!("{} is not a duration", Shown(s)))
            .hint("write a number and a unit (`ms`, `s`, `m`, `h`), for example `30s`, `1m30s` or `500ms`")
    };
    let mut rest = s;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n == 0 || n > 9 {
            return Err(invalid());
        }
        rest = &rest[n..];
        let unit = ["ms", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return Err(invalid()),
        }
    }
    Ok(())
}

/// Names that become directory or reference names: `[A-Za-z0-9._-]+`,
/// never `.` or `..`.
pub fn dir_name(s: &str, what: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!("{} is not a valid {what}", Shown(s)))
            .hint("use letters, digits, `.`, `_` and `-`, for example `flash-attention`"))
    }
}

/// An `http://` or `https://` URL without credentials.
pub fn http_url(s: &str) -> Check {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(Invalid::new(format!("{} is not an http(s) URL", Shown(s)))
            .hint("write a URL starting with `https://`"));
    };
    url_rest(s, rest, true)
}

/// A direct URL requirement mlr can lock: an `http(s)://` URL without
/// credentials of a wheel or an sdist archive, with at most a
/// `#sha256=<hex>` fragment (checked against the file at lock time).
pub fn direct_archive_url(url: &str) -> Check {
    http_url(url)?;
    let (file, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let file = file.split('?').next().unwrap_or(file);
    if ![".whl", ".tar.gz", ".zip"]
        .iter()
        .any(|e| file.ends_with(e))
    {
        return Err(Invalid::new(format!(
            "{} is not a wheel or an sdist archive (`.whl`, `.tar.gz`, `.zip`)",
            Shown(url)
        ))
        .hint("name the file itself: a direct URL requirement is locked by the archive's sha256"));
    }
    if let Some(f) = fragment {
        let ok = f
            .strip_prefix("sha256=")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            return Err(Invalid::new(format!(
                "the URL fragment `#{f}` is not `#sha256=<64 hex digits>`"
            ))
            .hint("remove the fragment (mlr hashes the file itself), or give its sha256"));
        }
    }
    Ok(())
}

/// What a `name @ URL` requirement points at, once mlr accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectUrl {
    /// A wheel or sdist archive over http(s), locked by its sha256.
    Archive,
    /// `git+URL[@REV]`: the repository (without `git+`) and the rev
    /// (`None`: the remote's default branch), locked to a commit and tree.
    Git { url: String, rev: Option<String> },
    /// `./dir` or `../dir`: a project directory, relative to the file
    /// naming it (`/`-separated, as written), locked by its tree's digest.
    Path { path: String },
}

/// The rev `git+URL` without `@REV` stands for: the remote's default branch.
pub const DEFAULT_GIT_REV: &str = "HEAD";

/// Classify the URL of a `name @ URL` requirement: an archive (see
/// [`direct_archive_url`]) or a `git+` repository with an optional
/// `@REV` and an ignored `#egg=` fragment. Anything else (other VCS,
/// `file:` paths, `#subdirectory=`) is refused with the fix.
pub fn direct_url(url: &str) -> Check<DirectUrl> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return direct_archive_url(url).map(|()| DirectUrl::Archive);
    }
    if url.starts_with("./") || url.starts_with("../") {
        if url.chars().any(|c| c.is_control() || c == '\\') || url.contains("//") {
            return Err(
                Invalid::new(format!("{} is not a plain relative path", Shown(url)))
                    .hint("write it with `/` between the directories, for example `./pkgs/mylib`"),
            );
        }
        return Ok(DirectUrl::Path {
            path: url.trim_end_matches('/').to_string(),
        });
    }
    if url.starts_with("file:") {
        return Err(Invalid::new(format!(
            "{}: an absolute path would not hold on another machine",
            Shown(url)
        ))
        .hint("write the directory relative to the file that names it, for example `mylib @ ./pkgs/mylib`"));
    }
    let Some(rest) = url.strip_prefix("git+") else {
        let vcs = ["hg+", "svn+", "bzr+"].iter().any(|p| url.starts_with(p));
        return Err(Invalid::new(if vcs {
            format!("{}: mlr locks git repositories only", Shown(url))
        } else {
            format!(
                "{}: mlr locks archive URLs (`https://…/file.whl`), `git+` URLs and relative paths (`./pkgs/x`)",
                Shown(url)
            )
        })
        .hint(
            "publish the package to an index, or put it in a git repository and require `name @ git+URL@REV`",
        ));
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    if let Some(f) = fragment {
        let egg_only = f.split('&').all(|part| part.starts_with("egg="));
        if !egg_only {
            return Err(Invalid::new(format!(
                "the URL fragment `#{f}` is not supported (only `#egg=` is, and ignored)"
            ))
            .hint("a package in a subdirectory of a repository: use a `[git.NAME]` source with `build` steps"));
        }
    }
    // The rev follows the last `@` of the path (`ssh://git@host/x.git@v1`).
    let path_start = rest
        .find("://")
        .map(|i| i + 3)
        .and_then(|i| rest[i..].find('/').map(|j| i + j))
        .unwrap_or(0);
    let (repo, rev) = match rest[path_start..].rfind('@') {
        Some(at) => (&rest[..path_start + at], Some(&rest[path_start + at + 1..])),
        None => (rest, None),
    };
    if !["https://", "http://", "ssh://", "file://"]
        .iter()
        .any(|p| repo.starts_with(p))
    {
        return Err(Invalid::new(format!(
            "{} is not a `git+https://`, `git+ssh://` or `git+file://` URL",
            Shown(url)
        ))
        .hint("write the repository URL after `git+`, for example `git+https://github.com/org/repo.git@v1.0`"));
    }
    git_url(repo)?;
    if let Some(rev) = rev {
        git_rev(rev)?;
    }
    Ok(DirectUrl::Git {
        url: repo.to_string(),
        rev: rev.map(str::to_string),
    })
}

/// The part after `scheme://`: a host, no whitespace, and (for http) no
/// credentials, because `ml.toml` is committed.
fn url_rest(s: &str, rest: &str, deny_userinfo: bool) -> Check {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(format!(
            "URL {} contains whitespace",
            Shown(s)
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if deny_userinfo && authority.contains('@') {
        return Err(Invalid::new("URL contains credentials, and ml.toml is committed")
            .hint("remove them from the URL; mlr reads credentials from ~/.netrc, a git credential helper or the environment"));
    }
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(Invalid::new(format!("URL {} has no host", Shown(s))));
    }
    Ok(())
}

/// `http(s)://`, `ssh://`, `file://`, `user@host:path`, or a local path.
pub fn git_url(s: &str) -> Check {
    let kinds = "use `https://…`, `ssh://…`, `git@host:path`, `file://…` or a local path";
    if s.is_empty() {
        return Err(Invalid::new("the git URL is empty").hint(kinds));
    }
    if s.starts_with('-') {
        // Git would read it as an option.
        return Err(Invalid::new(format!("git URL {} starts with `-`", Shown(s))).hint(kinds));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(format!(
            "git URL {} contains whitespace",
            Shown(s)
        )));
    }
    if let Some((scheme, rest)) = s.split_once("://") {
        return match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => url_rest(s, rest, true),
            "ssh" => url_rest(s, rest, false),
            "file" if !rest.is_empty() => Ok(()),
            "file" => Err(Invalid::new("the file:// URL has no path")),
            _ => Err(
                Invalid::new(format!("git URL scheme {} is not supported", Shown(scheme)))
                    .hint(kinds),
            ),
        };
    }
    let before_slash = s.split('/').next().unwrap_or("");
    if !before_slash.contains(':') {
        return Ok(()); // a local path
    }
    // scp-like `user@host:path`.
    let (user_host, path) = s.split_once(':').unwrap_or((s, ""));
    match user_host.split_once('@') {
        Some((user, host)) if !user.is_empty() && !host.is_empty() && !path.is_empty() => Ok(()),
        _ => Err(Invalid::new(format!("{} is not a git URL", Shown(s))).hint(kinds)),
    }
}

/// A tag, branch or commit: no whitespace, no `..`, none of the characters
/// git forbids in ref names, and no leading `-` (git would take it as an option).
pub fn git_rev(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('-')
        && !s.contains("..")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!("{} is not a git revision", Shown(s)))
            .hint("write a tag, a branch or a commit SHA, for example `v2.7.4` or `main`"))
    }
}

pub fn env_key(s: &str) -> Check {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not an environment variable name", Shown(s))).hint(
                "use letters, digits and `_`, not starting with a digit, for example `HF_HOME`",
            ),
        )
    }
}

/// A user name (`[a-z_][a-z0-9_-]*`, at most 32 characters) or a numeric uid.
pub fn user(s: &str) -> Check {
    let b = s.as_bytes();
    let name = !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    let uid = digits(s) && s.parse::<u32>().is_ok();
    if name || uid {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not a user name or uid", Shown(s))).hint(
                "use lowercase letters, digits, `_` and `-` (for example `ml`), or a numeric uid",
            ),
        )
    }
}

/// An absolute path inside the image.
pub fn image_path(s: &str) -> Check {
    if has_control(s) {
        return Err(Invalid::new(format!(
            "path {} contains control characters",
            Shown(s)
        )));
    }
    if s.ends_with(char::is_whitespace) || s.chars().any(|c| c.is_whitespace() && c != ' ') {
        // The Dockerfile parser trims (Unicode) white space around a line.
        return Err(Invalid::new(format!(
            "path {} ends with, or holds, white space other than a space",
            Shown(s)
        ))
        .hint("remove the trailing or special white space"));
    }
    if let Some(c) = s.chars().find(|c| matches!(c, '\\' | '$' | '"' | '\'')) {
        // `WORKDIR` and `COPY` expand variables and read quotes and escapes
        // in their arguments; a path is written as it is, so these cannot be.
        return Err(Invalid::new(format!(
            "path {} contains `{c}`, which the Dockerfile would read as a variable, quote or escape",
            Shown(s)
        ))
        .hint("write the path literally, without `$`, quotes or `\\`"));
    }
    if s.starts_with('/') {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not an absolute path", Shown(s))).hint(format!(
                "paths in the image start with `/`, for example `/{}`",
                s.trim_start_matches("./")
            )),
        )
    }
}

/// `rel` (`./x`, `../x`) taken from the project directory `base`
/// (`/`-separated, `""` for the project itself), `.` and `..` resolved
/// without reading the disk: the project path it names, `None` when it
/// leaves the project or names the project itself.
pub fn join_project_path(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A path relative to the directory of `ml.toml` that stays inside it.
pub fn project_path(s: &str) -> Check {
    if s.is_empty() {
        return Err(Invalid::new("the path is empty")
            .hint("write a path relative to ml.toml, for example `src`"));
    }
    if has_control(s) {
        return Err(Invalid::new(format!(
            "path {} contains control characters",
            Shown(s)
        )));
    }
    let b = s.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if s.starts_with(['/', '\\']) || drive {
        return Err(Invalid::new(format!("{} is an absolute path", Shown(s)))
            .hint("copy sources are relative to the directory of ml.toml, for example `src`"));
    }
    if s.split(['/', '\\']).any(|c| c == "..") {
        return Err(
            Invalid::new(format!("{} leaves the project directory", Shown(s)))
                .hint("only files under the directory of ml.toml can be copied into the image"),
        );
    }
    if s.split(['/', '\\']).any(|c| c == ".git") {
        return Err(Invalid::new(format!(
            "{} is a `.git` directory or inside one, which mlr never copies into an image",
            Shown(s)
        ))
        .hint("copy the files the image needs from the working tree instead"));
    }
    Ok(())
}

/// A glob of package names (`mycorp-*`) routed to one pip index.
pub fn package_glob(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-*?".contains(&b))
        && s.bytes().any(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(
            Invalid::new(format!("{} is not a package name pattern", Shown(s)))
                .hint("write a package name or a glob such as `mycorp-*`"),
        )
    }
}

/// A git `build` step: one shell command line, which becomes one line of
/// a `RUN` instruction, between mlr's own shell.
pub fn build_step(s: &str) -> Check {
    if s.trim().is_empty() {
        Err(Invalid::new("empty build step").hint("remove it, or write the command to run"))
    } else if s.chars().any(char::is_control) {
        Err(
            Invalid::new("build step contains a line break or control character")
                .hint("write one command per entry of `build`, or join commands with `&&`"),
        )
    } else if s.contains("<<") {
        // BuildKit reads `<<WORD` in a RUN line as the start of a
        // heredoc, which takes the Dockerfile's following lines.
        Err(
            Invalid::new("build step contains `<<`, which the Dockerfile reads as a heredoc").hint(
                "a step is one line: write the text to a file in the repository, or use `printf`",
            ),
        )
    } else if shell_comment(s).is_some() {
        // The engine joins the RUN into one line: a comment would take the
        // rest of it (the step's closing parenthesis, the gathering).
        Err(Invalid::new(
            "build step contains a shell comment (`#`), which would end mlr's RUN line",
        )
        .hint("remove the comment, or put it in ml.toml after the string (`\"make\",  # why`)"))
    } else {
        Ok(())
    }
}

/// Where a `#` starts a comment in the POSIX shell line `s`: at the start
/// of a word, outside quotes and not escaped. `${#x}`, `$#`, `a#b` and
/// `"#"` are no comments. (A comment inside a `$(...)` in double quotes is
/// not seen.)
fn shell_comment(s: &str) -> Option<usize> {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut word_start = true;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            word_start = false;
            continue;
        }
        match c {
            '\'' if !double => single = !single,
            _ if single => {}
            '\\' => escaped = true,
            '"' => double = !double,
            '#' if !double && word_start => return Some(i),
            _ => {}
        }
        word_start = !single && !double && (c.is_whitespace() || ";&|()<>".contains(c));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_inside_the_project_only() {
        assert_eq!(join_project_path("", "./pkgs/x/"), Some("pkgs/x".into()));
        assert_eq!(
            join_project_path("reqs", "../pkgs/x"),
            Some("pkgs/x".into())
        );
        assert_eq!(join_project_path("", "../x"), None);
        assert_eq!(join_project_path("", "./"), None);
    }

    #[test]
    fn direct_urls_are_archives_or_git_repositories() {
        assert_eq!(
            direct_url("https://f.example/t-1.0-py3-none-any.whl"),
            Ok(DirectUrl::Archive)
        );
        let git = |url: &str, rev: Option<&str>| DirectUrl::Git {
            url: url.into(),
            rev: rev.map(Into::into),
        };
        assert_eq!(
            direct_url("git+https://g.example/o/r.git@v1.2"),
            Ok(git("https://g.example/o/r.git", Some("v1.2")))
        );
        assert_eq!(
            direct_url("git+ssh://git@g.example/o/r.git@main#egg=r"),
            Ok(git("ssh://git@g.example/o/r.git", Some("main")))
        );
        assert_eq!(
            direct_url("git+file:///srv/r"),
            Ok(git("file:///srv/r", None))
        );
        assert_eq!(
            direct_url("./pkgs/mylib/"),
            Ok(DirectUrl::Path {
                path: "./pkgs/mylib".into()
            })
        );
        for bad in [
            "git+https://tok@g.example/r.git@v1",
            "git+https://g.example/r.git@v1#subdirectory=pkg",
            "git+https://g.example/r.git@-x",
            "git+git@g.example:o/r.git",
            "hg+https://h.example/r",
            "file:///srv/pkg",
            "./a//b",
            "https://f.example/page.html",
        ] {
            assert!(direct_url(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_shell_comment_in_a_build_step_is_refused() {
        for comment in [
            "# all of it",
            "make # the slow part",
            "make;# x",
            "(make)#x",
            "echo '#' \"#\" \\# # but this",
        ] {
            assert!(shell_comment(comment).is_some(), "{comment}");
            assert!(build_step(comment).is_err(), "{comment}");
        }
        for plain in [
            "echo a#b ${#x} $# '# x' \"# y\" \\#z",
            "curl -o x https://example.com/a#frag",
            "[ $# -eq 0 ] && echo 'it'\"'\"'s # fine'",
        ] {
            assert_eq!(shell_comment(plain), None, "{plain}");
            assert!(build_step(plain).is_ok(), "{plain}");
        }
    }

    #[test]
    fn accepts_and_rejects() {
        // A check, values it accepts, values it rejects.
        type Case = (
            fn(&str) -> Check,
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                cuda_version,
                &["11.8", "12.4.1"],
                &["11", "11.8.0.1", "v11.8", "11.x", ""],
            ),
            (cudnn_version, &["8", "9"], &["8.9", "", "x"]),
            (
                cuda_arch,
                &["8.0", "8.6+PTX"],
                &["8", "sm_80", "8.6+ptx", "8.6+PTX+PTX"],
            ),
            (
                python_version,
                &["3.10", "3.11.4"],
                &["3", "2.7", "3.x", "3.10.1.1", "py3.10"],
            ),
            (
                apt_snapshot,
                &["auto", "20250520T000000Z", "20240229T235959Z"],
                &[
                    "20230229T000000Z",
                    "20250520",
                    "20251320T000000Z",
                    "2025-05-20T00:00:00Z",
                    "20250520T240000Z",
                    "20250\t30T0é000Z",
                ],
            ),
            (
                duration,
                &["30s", "1m30s", "500ms", "1h"],
                &["", "30", "s", "1.5s", "-1s", "30 s", "1d"],
            ),
            (
                http_url,
                &["https://pypi.org/simple", "http://127.0.0.1:8080/simple/"],
                &[
                    "pypi.org",
                    "ftp://x",
                    "https://",
                    "https://u:p@host/x",
                    "https://tok@host/x",
                    "https://a b",
                ],
            ),
            (
                git_url,
                &[
                    "https://github.com/a/b.git",
                    "ssh://git@host/a/b",
                    "git@github.com:a/b.git",
                    "file:///tmp/repo",
                    "./vendor/x",
                    "/abs/repo",
                    "../sib",
                ],
                &[
                    "",
                    "-uoops",
                    "git://host/x",
                    "ftp://h/x",
                    "host:path",
                    "https://u:p@h/x",
                    "a b",
                ],
            ),
            (
                git_rev,
                &["v2.7.4.post1", "main", "0123abcd", "feature/x"],
                &["", "a..b", "-x", "a b", "a~1", "HEAD^"],
            ),
            (env_key, &["HF_HOME", "_X", "a1"], &["1A", "A-B", "", "A B"]),
            (
                user,
                &["ml", "_x", "root", "1000"],
                &["", "ML", "a b", "99999999999", "-x"],
            ),
            (image_path, &["/app", "/"], &["app", "./app", "/a\nb"]),
            (
                project_path,
                &["src", "./src", "a/b..c"],
                &[
                    "",
                    "/etc",
                    "../x",
                    "a/../../x",
                    "C:\\x",
                    "\\\\srv",
                    ".git",
                    "sub/.git/hooks",
                ],
            ),
        ];
        for (check, good, bad) in cases {
            for g in *good {
                assert!(check(g).is_ok(), "{g:?} should pass: {:?}", check(g));
            }
            for b in *bad {
                assert!(check(b).is_err(), "{b:?} should fail");
            }
        }
        assert_eq!(apt_request("libgl1").unwrap(), "libgl1");
        assert_eq!(apt_request("git=1:2.34.1-1ubuntu1").unwrap(), "git");
        for bad in ["Git", "x", "libc6:amd64", "git=", "git=abc", "a b"] {
            assert!(apt_request(bad).is_err(), "{bad}");
        }
        assert!(dir_name("flash-attention", "git source name").is_ok());
        for bad in [".", "..", "a/b", "", "a b"] {
            assert!(dir_name(bad, "name").is_err(), "{bad}");
        }
    }

    #[test]
    fn shown_is_short_and_escaped() {
        assert_eq!(Shown("a\0b").to_string(), "`a\\0b`");
        let long = "x".repeat(1_000_000);
        assert!(Shown(&long).to_string().chars().count() < 70);
    }
}
