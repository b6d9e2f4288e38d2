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

impl Editor {
    pub fn new() -> Editor {
        Editor { history: Vec::new() }
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
        let mut line: Vec<char> = Vec::new();
        let mut cur = 0usize;
        // the history position: history.len() is the line being typed
        let mut pos = self.history.len();
        let mut typed: Vec<char> = Vec::new();
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
                    let l: String = line.iter().collect();
                    if !l.trim().is_empty() && self.history.last() != Some(&l) {
                        self.history.push(l.clone());
                        if self.history.len() > HISTORY {
                            self.history.remove(0);
                        }
                    }
                    return Ok(Some(l));
                }
                4 if line.is_empty() => {
                    let _ = writeln!(out);
                    return Ok(None);
                }
                0x7f | 8 => {
                    if cur > 0 {
                        cur -= 1;
                        line.remove(cur);
                        if cur == line.len() {
                            let _ = write!(out, "\x08 \x08");
                            let _ = out.flush();
                        } else {
                            redraw(&mut out, prompt, &line, cur);
                        }
                    }
                }
                1 => {
                    cur = 0;
                    redraw(&mut out, prompt, &line, cur);
                }
                5 => {
                    cur = line.len();
                    redraw(&mut out, prompt, &line, cur);
                }
                11 => {
                    line.truncate(cur);
                    redraw(&mut out, prompt, &line, cur);
                }
                21 => {
                    line.drain(..cur);
                    cur = 0;
                    redraw(&mut out, prompt, &line, cur);
                }
                23 => {
                    let mut start = cur;
                    while start > 0 && line[start - 1] == ' ' {
                        start -= 1;
                    }
                    while start > 0 && line[start - 1] != ' ' {
                        start -= 1;
                    }
                    line.drain(start..cur);
                    cur = start;
                    redraw(&mut out, prompt, &line, cur);
                }
                b'\t' => {
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
                        line.splice(start..cur, new);
                        cur = start + n;
                    }
                    redraw(&mut out, prompt, &line, cur);
                }
                12 => {
                    let _ = write!(out, "\x1b[H\x1b[2J");
                    redraw(&mut out, prompt, &line, cur);
                }
                0x1b => {
                    // CSI: ESC [ X (or ESC O X)
                    let (Some(b'[' | b'O'), Some(k)) = (byte()?, byte()?) else {
                        continue;
                    };
                    match k {
                        b'A' | b'B' => {
                            if pos == self.history.len() {
                                typed = line.clone();
                            }
                            pos = if k == b'A' {
                                pos.saturating_sub(1)
                            } else {
                                (pos + 1).min(self.history.len())
                            };
                            line = match self.history.get(pos) {
                                Some(h) => h.chars().collect(),
                                None => typed.clone(),
                            };
                            cur = line.len();
                        }
                        b'C' => cur = (cur + 1).min(line.len()),
                        b'D' => cur = cur.saturating_sub(1),
                        b'H' => cur = 0,
                        b'F' => cur = line.len(),
                        b'3' => {
                            // Delete: ESC [ 3 ~
                            let _ = byte()?;
                            if cur < line.len() {
                                line.remove(cur);
                            }
                        }
                        _ => {}
                    }
                    redraw(&mut out, prompt, &line, cur);
                }
                b if b < 0x20 => {}
                b => {
                    // UTF-8: the leading byte says how many follow
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
                    let Ok(s) = std::str::from_utf8(&buf) else {
                        continue;
                    };
                    for ch in s.chars() {
                        line.insert(cur, ch);
                        cur += 1;
                    }
                    if cur == line.len() {
                        let _ = write!(out, "{s}");
                        let _ = out.flush();
                    } else {
                        redraw(&mut out, prompt, &line, cur);
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
