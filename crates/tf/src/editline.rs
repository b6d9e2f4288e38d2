//! `tf shell`'s line editor on a terminal: the terminal's line discipline is
//! off only while a line is read (a password prompt or a progress bar in a
//! command see the usual terminal). Keys: printable text inserts at the cursor;
//! Backspace, Delete-left; Left/Right, Ctrl-A/Ctrl-E move; Up/Down walk the
//! history; Ctrl-U/Ctrl-K kill to the start/end; Ctrl-W erases a word;
//! Ctrl-L redraws; Ctrl-D on an empty line is end of input; Tab completes
//! the word before the cursor (the caller says to what: one candidate is
//! taken whole, several are cut to what they share, and a second Tab lists
//! them). Ctrl-C keeps its signal.

use std::io::{Read, Write};
use std::os::fd::AsFd;

/// Lines kept for Up/Down.
const HISTORY: usize = 500;

pub struct Editor {
    history: Vec<String>,
}

/// Restores the terminal however the read ends.
struct Cbreak(tfd_sys::TtyMode);

impl Drop for Cbreak {
    fn drop(&mut self) {
        let _ = tfd_sys::restore_tty(std::io::stdin().as_fd(), &self.0);
    }
}

fn redraw(out: &mut impl Write, prompt: &str, line: &[char], cur: usize) {
    let text: String = line.iter().collect();
    let _ = write!(out, "\r{prompt}{text}\x1b[K");
    let back = line.len() - cur;
    if back > 0 {
        let _ = write!(out, "\x1b[{back}D");
    }
    let _ = out.flush();
}

/// The line being edited: its characters, the cursor, and where Up/Down
/// stand in the history.
struct Edit {
    line: Vec<char>,
    cur: usize,
    /// The history position: `history.len()` is the line being typed.
    pos: usize,
    /// The line being typed, kept while Up/Down show the history.
    typed: Vec<char>,
}

impl Edit {
    /// Ctrl-W: the word before the cursor (and the spaces after it) go.
    fn erase_word(&mut self) {
        let line = &self.line;
        let mut start = self.cur;
        while start > 0 && line[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && line[start - 1] != ' ' {
            start -= 1;
        }
        self.line.drain(start..self.cur);
        self.cur = start;
    }

    /// Tab: the word before the cursor becomes its one candidate, or what
    /// its candidates share; else they are listed.
    fn complete(&mut self, out: &mut impl Write, complete: &mut dyn FnMut(&str) -> Vec<String>) {
        let (line, cur) = (&self.line, self.cur);
        let before: String = line[..cur].iter().collect();
        let start = line[..cur].iter().rposition(|&c| c == ' ').map_or(0, |i| i + 1);
        let word: String = line[start..cur].iter().collect();
        let found = complete(&before);
        let shared = common_prefix(&found);
        let new = match found.as_slice() {
            [] => None,
            [one] if one.ends_with('/') => Some(one.clone()),
            [one] => Some(format!("{one} ")),
            _ if shared.chars().count() > word.chars().count() => Some(shared),
            many => {
                let _ = write!(out, "\r\n{}\r\n", many.join("  "));
                None
            }
        };
        if let Some(new) = new {
            let new: Vec<char> = new.chars().collect();
            let n = new.len();
            self.line.splice(start..cur, new);
            self.cur = start + n;
        }
    }

    /// The cursor keys of `ESC [ k`: Up/Down walk the history, Left/Right,
    /// Home/End move.
    fn arrow(&mut self, k: u8, history: &[String]) {
        match k {
            b'A' | b'B' => {
                if self.pos == history.len() {
                    self.typed = self.line.clone();
                }
                self.pos = if k == b'A' {
                    self.pos.saturating_sub(1)
                } else {
                    (self.pos + 1).min(history.len())
                };
                self.line = match history.get(self.pos) {
                    Some(h) => h.chars().collect(),
                    None => self.typed.clone(),
                };
                self.cur = self.line.len();
            }
            b'C' => self.cur = (self.cur + 1).min(self.line.len()),
            b'D' => self.cur = self.cur.saturating_sub(1),
            b'H' => self.cur = 0,
            b'F' => self.cur = self.line.len(),
            _ => {}
        }
    }
}

/// The rest of a UTF-8 character whose leading byte is `b` (its leading byte
/// says how many follow), as text; `None` when the bytes are not UTF-8.
fn utf8_char(b: u8, byte: &mut dyn FnMut() -> std::io::Result<Option<u8>>) -> std::io::Result<Option<String>> {
    let n = match b {
        0xc0..=0xdf => 1,
        0xe0..=0xef => 2,
        0xf0..=0xf7 => 3,
        _ => 0,
    };
    let mut buf = vec![b];
    for _ in 0..n {
        buf.extend(byte()?);
    }
    Ok(String::from_utf8(buf).ok())
}

impl Editor {
    pub fn new() -> Editor {
        Editor { history: Vec::new() }
    }

    /// Keeps an entered line for Up/Down (not a blank one, nor the last again).
    fn remember(&mut self, l: &str) {
        if !l.trim().is_empty() && self.history.last().map(String::as_str) != Some(l) {
            self.history.push(l.to_string());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
    }

    /// One line (None at end of input). `complete` gets the line before the
    /// cursor and answers what its last word may become.
    pub fn read_line(
        &mut self,
        prompt: &str,
        complete: &mut dyn FnMut(&str) -> Vec<String>,
    ) -> std::io::Result<Option<String>> {
        let _mode = Cbreak(tfd_sys::set_tty_cbreak(std::io::stdin().as_fd())?);
        let mut out = std::io::stdout();
        let mut inp = std::io::stdin().lock();
        let mut e = Edit {
            line: Vec::new(),
            cur: 0,
            pos: self.history.len(),
            typed: Vec::new(),
        };
        let _ = write!(out, "{prompt}");
        let _ = out.flush();
        let mut byte = || -> std::io::Result<Option<u8>> {
            let mut b = [0u8; 1];
            match inp.read(&mut b)? {
                0 => Ok(None),
                _ => Ok(Some(b[0])),
            }
        };
        loop {
            let Some(b) = byte()? else {
                let _ = writeln!(out);
                return Ok(None);
            };
            match b {
                b'\r' | b'\n' => {
                    let _ = writeln!(out);
                    let l: String = e.line.iter().collect();
                    self.remember(&l);
                    return Ok(Some(l));
                }
                4 if e.line.is_empty() => {
                    let _ = writeln!(out);
                    return Ok(None);
                }
                0x7f | 8 => {
                    if e.cur > 0 {
                        e.cur -= 1;
                        e.line.remove(e.cur);
                        if e.cur == e.line.len() {
                            let _ = write!(out, "\x08 \x08");
                            let _ = out.flush();
                        } else {
                            redraw(&mut out, prompt, &e.line, e.cur);
                        }
                    }
                }
                1 => {
                    e.cur = 0;
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                5 => {
                    e.cur = e.line.len();
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                11 => {
                    e.line.truncate(e.cur);
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                21 => {
                    e.line.drain(..e.cur);
                    e.cur = 0;
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                23 => {
                    e.erase_word();
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                b'\t' => {
                    e.complete(&mut out, complete);
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                12 => {
                    let _ = write!(out, "\x1b[H\x1b[2J");
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                0x1b => {
                    // CSI: ESC [ X (or ESC O X)
                    let (Some(b'[' | b'O'), Some(k)) = (byte()?, byte()?) else {
                        continue;
                    };
                    if k == b'3' {
                        // Delete: ESC [ 3 ~
                        let _ = byte()?;
                        if e.cur < e.line.len() {
                            e.line.remove(e.cur);
                        }
                    } else {
                        e.arrow(k, &self.history);
                    }
                    redraw(&mut out, prompt, &e.line, e.cur);
                }
                b if b < 0x20 => {}
                b => {
                    let Some(s) = utf8_char(b, &mut byte)? else {
                        continue;
                    };
                    for ch in s.chars() {
                        e.line.insert(e.cur, ch);
                        e.cur += 1;
                    }
                    if e.cur == e.line.len() {
                        let _ = write!(out, "{s}");
                        let _ = out.flush();
                    } else {
                        redraw(&mut out, prompt, &e.line, e.cur);
                    }
                }
            }
        }
    }
}

/// The longest prefix all of `v` share.
pub fn common_prefix(v: &[String]) -> String {
    let Some(first) = v.first() else {
        return String::new();
    };
    let mut n = first.len();
    for s in &v[1..] {
        n = n.min(first.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    first[..n].to_string()
}
