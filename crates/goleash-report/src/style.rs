use goleash_analyze::Verdict;

/// ANSI styling, off unless the output is a terminal (or the user forces it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub fn verdict(self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::Proven => "1;31",
            Verdict::Likely => "1;33",
            Verdict::Possible => "36",
            Verdict::Expected => "2",
        };
        self.wrap(code, text)
    }

    pub fn good(self, text: &str) -> String {
        self.wrap("32", text)
    }
}
