//! Enough of the POSIX shell to read a Dockerfile's `RUN` lines: simple
//! commands split at `&&`, `||`, `;`, `|`, `&` and newlines; words with
//! their quotes removed; `$VAR` and `${VAR}` expanded from what the
//! Dockerfile defines; redirections dropped. A word the reader cannot know
//! (an unknown variable, `$(...)`, a glob) is marked, so that no guess
//! becomes a value.

/// One word of a command, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// It holds something only the shell can know: an undefined variable,
    /// a command substitution, an unquoted glob.
    pub unknown: bool,
}

/// A simple command and its text in the script (for comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
    pub text: String,
}

/// The simple commands of `script`, in order; `var` looks a variable up.
pub fn commands(script: &str, var: &dyn Fn(&str) -> Option<String>) -> Vec<Command> {
    let mut lexer = Lexer {
        chars: script.char_indices().collect(),
        pos: 0,
        script,
        var,
        plain: false,
    };
    lexer.run()
}

/// The words of a Dockerfile instruction's arguments (`ENV`, `COPY`):
/// split at white space only, quotes removed, variables expanded. No
/// operators and no globs: the Dockerfile's own word rules.
pub fn words(text: &str, var: &dyn Fn(&str) -> Option<String>) -> Vec<Word> {
    let mut lexer = Lexer {
        chars: text.char_indices().collect(),
        pos: 0,
        script: text,
        var,
        plain: true,
    };
    let mut out = Vec::new();
    while let Some(c) = lexer.peek() {
        if c.is_whitespace() {
            lexer.pos += 1;
        } else {
            out.push(lexer.word());
        }
    }
    out
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    script: &'a str,
    var: &'a dyn Fn(&str) -> Option<String>,
    /// Only white space ends a word, and nothing is a glob.
    plain: bool,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).map(|(_, c)| *c)
    }

    fn offset(&self) -> usize {
        self.chars
            .get(self.pos)
            .map_or(self.script.len(), |(i, _)| *i)
    }

    fn run(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut start: Option<usize> = None;
        let mut end = 0;
        let finish = |words: &mut Vec<Word>,
                      start: &mut Option<usize>,
                      end: usize,
                      out: &mut Vec<Command>,
                      script: &str| {
            if let Some(s) = start.take() {
                if !words.is_empty() {
                    let text = script[s..end]
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    out.push(Command {
                        words: std::mem::take(words),
                        text,
                    });
                }
            }
            words.clear();
        };
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\n' | ';' | '&' | '|' | '(' | ')' => {
                    finish(&mut words, &mut start, end, &mut out, self.script);
                    self.pos += 1;
                }
                '#' if words.is_empty() || self.after_space() => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '>' | '<' => {
                    // A redirection: drop it and its target (`2>&1` has none).
                    if start.is_none() {
                        start = Some(self.offset());
                    }
                    self.pos += 1;
                    while matches!(self.peek(), Some('>' | '<')) {
                        self.pos += 1;
                    }
                    if self.peek() == Some('&') {
                        self.pos += 1;
                        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-') {
                            self.pos += 1;
                        }
                    } else {
                        while matches!(self.peek(), Some(' ' | '\t')) {
                            self.pos += 1;
                        }
                        let _ = self.word();
                    }
                    end = self.offset();
                }
                _ => {
                    if start.is_none() {
                        start = Some(self.offset());
                    }
                    let w = self.word();
                    end = self.offset();
                    // `2>` and `&>`: the digit before `>` is part of the redirection.
                    if matches!(self.peek(), Some('>' | '<'))
                        && !w.text.is_empty()
                        && w.text.chars().all(|c| c.is_ascii_digit())
                    {
                        continue;
                    }
                    words.push(w);
                }
            }
        }
        finish(&mut words, &mut start, end, &mut out, self.script);
        out
    }

    fn after_space(&self) -> bool {
        self.pos == 0 || self.chars[self.pos - 1].1.is_whitespace()
    }

    /// A word up to unquoted white space or an operator.
    fn word(&mut self) -> Word {
        let mut text = String::new();
        let mut unknown = false;
        while let Some(c) = self.peek() {
            if self.plain && c.is_whitespace() {
                break;
            }
            match c {
                ';' | '&' | '|' | '(' | ')' | '>' | '<' if self.plain => {
                    text.push(c);
                    self.pos += 1;
                }
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '>' | '<' => break,
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(n) => {
                            text.push(n);
                            self.pos += 1;
                        }
                        None => {}
                    }
                }
                '\'' => {
                    self.pos += 1;
                    while let Some(n) = self.peek() {
                        self.pos += 1;
                        if n == '\'' {
                            break;
                        }
                        text.push(n);
                    }
                }
                '"' => {
                    self.pos += 1;
                    while let Some(n) = self.peek() {
                        match n {
                            '"' => {
                                self.pos += 1;
                                break;
                            }
                            '\\' if matches!(self.peek_at(1), Some('"' | '\\' | '$' | '`')) => {
                                text.push(self.peek_at(1).unwrap_or('\\'));
                                self.pos += 2;
                            }
                            '$' => unknown |= self.dollar(&mut text),
                            '`' => {
                                unknown = true;
                                self.backtick(&mut text);
                            }
                            n => {
                                text.push(n);
                                self.pos += 1;
                            }
                        }
                    }
                }
                '$' => unknown |= self.dollar(&mut text),
                '`' => {
                    unknown = true;
                    self.backtick(&mut text);
                }
                '*' | '?' | '[' | '~' if !self.plain && (text.is_empty() || c != '~') => {
                    // An unquoted glob (or `~`) is the shell's to expand.
                    unknown |= c != '[' || text.is_empty();
                    text.push(c);
                    self.pos += 1;
                }
                c => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        Word { text, unknown }
    }

    /// `$NAME`, `${NAME}`, `${NAME:-default}`, `$(...)`: the value appended
    /// to `text`; `true` when it is unknown (the raw text is kept).
    fn dollar(&mut self, text: &mut String) -> bool {
        let start = self.pos;
        self.pos += 1;
        match self.peek() {
            Some('{') => {
                let mut depth = 0;
                let mut inner = String::new();
                self.pos += 1;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    inner.push(c);
                }
                let (name, default) = match inner.find([':', '-', '+', '=', '?', '#', '%', '/']) {
                    Some(i) => (&inner[..i], Some(&inner[i..])),
                    None => (inner.as_str(), None),
                };
                let value = (self.var)(name);
                match (value, default) {
                    (Some(v), None) => {
                        text.push_str(&v);
                        false
                    }
                    (Some(v), Some(d)) if d.starts_with(":-") || d.starts_with('-') => {
                        text.push_str(&v);
                        false
                    }
                    (None, Some(d)) if d.starts_with(":-") || d.starts_with('-') => {
                        let d = d.trim_start_matches(':').trim_start_matches('-');
                        text.push_str(d);
                        d.contains('$')
                    }
                    _ => {
                        self.raw(start, text);
                        true
                    }
                }
            }
            Some('(') => {
                let mut depth = 0;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                self.raw(start, text);
                true
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    name.push(c);
                    self.pos += 1;
                }
                match (self.var)(&name) {
                    Some(v) => {
                        text.push_str(&v);
                        false
                    }
                    None => {
                        self.raw(start, text);
                        true
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.pos += 1;
                self.raw(start, text);
                true
            }
            _ => {
                text.push('$');
                false
            }
        }
    }

    fn backtick(&mut self, text: &mut String) {
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == '`' {
                break;
            }
        }
        self.raw(start, text);
    }

    /// The script's text from char `start` to here, appended as written.
    fn raw(&self, start: usize, text: &mut String) {
        let from = self.chars[start].0;
        text.push_str(&self.script[from..self.offset()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(script: &str) -> Vec<Vec<String>> {
        let var = |n: &str| (n == "V").then(|| "1.2".to_string());
        commands(script, &var)
            .into_iter()
            .map(|c| c.words.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn splits_commands_and_unquotes_words() {
        assert_eq!(
            split(
                "apt-get update && apt-get install -y 'a b' \"c$V\" d\\ e; echo x > /f 2>&1 | tee y"
            ),
            [
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "a b", "c1.2", "d e"],
                vec!["echo", "x"],
                vec!["tee", "y"],
            ]
        );
        assert_eq!(
            split("pip install x==${V} # comment\n(cd a && make)"),
            [
                vec!["pip", "install", "x==1.2"],
                vec!["cd", "a"],
                vec!["make"],
            ]
        );
    }

    #[test]
    fn marks_what_only_the_shell_knows() {
        let var = |_: &str| None;
        let c = commands("pip install $PKG \"x==${X:-2}\" $(cat f) *.whl", &var);
        let unknown: Vec<bool> = c[0].words.iter().map(|w| w.unknown).collect();
        assert_eq!(unknown, [false, false, true, false, true, true]);
        assert_eq!(c[0].words[3].text, "x==2");
        assert_eq!(c[0].text, "pip install $PKG \"x==${X:-2}\" $(cat f) *.whl");
    }
}
