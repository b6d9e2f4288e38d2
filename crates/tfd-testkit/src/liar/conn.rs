//! The liar's side of one connection: the handshake as tfd runs it, then
//! every command the [`Script`] answers, each in tfd's wire format, with
//! the lies it names.

use super::*;

/// One client connection: the two cipher directions and a write buffer that
/// is flushed before every read (so many units leave in one write).
pub(super) struct Conn {
    pub(super) rd: BufReader<TcpStream>,
    pub(super) wr: TcpStream,
    pub(super) rx: Option<Cipher>,
    pub(super) tx: Option<Cipher>,
    pub(super) out: Vec<u8>,
    pub(super) sent: Arc<std::sync::atomic::AtomicU64>,
}

impl Conn {
    pub(super) fn new(s: TcpStream, sent: Arc<std::sync::atomic::AtomicU64>) -> Io<Conn> {
        Ok(Conn {
            sent,
            wr: s.try_clone()?,
            rd: BufReader::with_capacity(1 << 16, s),
            rx: None,
            tx: None,
            out: Vec::new(),
        })
    }

    pub(super) fn flush(&mut self) -> Io<()> {
        if !self.out.is_empty() {
            // counted as written: a write cut short by the client's close
            // counts what went out
            let mut done = 0;
            let r = loop {
                match self.wr.write(&self.out[done..]) {
                    Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        done += n;
                        self.sent.fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
                        if done == self.out.len() {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            self.out.clear();
            r?;
        }
        Ok(())
    }

    /// Sends pending bytes once they are many (long streams).
    pub(super) fn flush_if_big(&mut self) -> Io<()> {
        if self.out.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(())
    }

    pub(super) fn recv_unit(&mut self, n: usize) -> Io<Vec<u8>> {
        self.flush()?;
        let mut b = vec![0u8; n];
        self.rd.read_exact(&mut b)?;
        if let Some(c) = self.rx.as_mut() {
            c.unpack(&mut b);
        }
        Ok(b)
    }

    pub(super) fn recv_i64(&mut self) -> Io<i64> {
        let b = self.recv_unit(8)?;
        Ok(i64::from_be_bytes(b.try_into().map_err(|_| bad("short i64"))?))
    }

    pub(super) fn recv_i32(&mut self) -> Io<i32> {
        let b = self.recv_unit(4)?;
        Ok(i32::from_be_bytes(b.try_into().map_err(|_| bad("short i32"))?))
    }

    pub(super) fn recv_frame(&mut self, max: usize) -> Io<Vec<u8>> {
        let h = self.recv_unit(4)?;
        let hdr: [u8; 4] = h.try_into().map_err(|_| bad("short header"))?;
        let len = frame::decode_len(hdr, max).map_err(bad)?;
        self.recv_unit(len)
    }

    pub(super) fn send_frame(&mut self, payload: &[u8]) -> Io<()> {
        if payload.len() > MAX_FRAME {
            return Err(bad("frame over MAX_FRAME"));
        }
        frame::encode_frame(self.tx.as_mut(), payload, &mut self.out);
        self.flush_if_big()
    }

    pub(super) fn send_unit(&mut self, data: &[u8]) -> Io<()> {
        frame::encode_raw(self.tx.as_mut(), data, &mut self.out);
        self.flush_if_big()
    }

    pub(super) fn send_failed(&mut self, f: Failed) -> Io<()> {
        self.send_frame(&f.to_wire())
    }

    /// tfd's handshake, server side (src/session/handshake.rs): version and
    /// RSA-encrypted key in plaintext, each answered OK, then the hash under
    /// the session key's cipher.
    pub(super) fn handshake(&mut self, shared: &Shared) -> Io<()> {
        let version = self.recv_frame(hs::MAX_VERSION_FRAME)?;
        if hs::check_version(&version, &["2.4.1", "2.5.1"]).is_err() {
            self.send_failed(Failed::IncompatibleProtocol)?;
            return Err(bad("version"));
        }
        self.send_frame(b"OK")?;
        let enc = self.recv_frame(4096)?;
        let Ok(key) = hs::decrypt_session_key(&shared.rsa, &enc) else {
            self.send_failed(Failed::BadRsaKey)?;
            return Err(bad("session key"));
        };
        self.send_frame(b"OK")?;
        self.rx = Some(Cipher::new(&key));
        self.tx = Some(Cipher::new(&key));
        let hash = self.recv_frame(hs::MAX_HASH_FRAME)?;
        if hash != HASH.as_bytes() {
            self.send_failed(Failed::InvalidHash)?;
            return Err(bad("hash"));
        }
        self.send_frame(b"OK")
    }

    pub(super) fn serve(&mut self, shared: &Shared) -> Io<()> {
        let r = self.handshake(shared).and_then(|()| self.commands(shared));
        let _ = self.flush();
        r
    }

    pub(super) fn commands(&mut self, shared: &Shared) -> Io<()> {
        loop {
            let line = self.recv_frame(MAX_FRAME)?;
            lock(&shared.requests).push(line.clone());
            let req = command::split(&line);
            let canned = lock(&shared.script).answers.get(&req.name).cloned();
            if let Some(frame) = canned {
                self.send_frame(&frame)?;
                continue;
            }
            let arg = req.arg;
            match req.name.as_str() {
                "END" => return Ok(()),
                "ECHO" => self.send_frame(arg)?,
                "LS" | "LSR" => self.ls(shared, arg, req.name == "LSR")?,
                "LSV2DOWN" | "LSRV2DOWN" => self.lsv2down(shared, arg, req.name == "LSRV2DOWN")?,
                "LSV2" | "LSRV2" => self.lsv2(shared, arg, req.name == "LSRV2")?,
                "FSTAT" => self.fstat(shared, arg)?,
                "FSTATLS" => self.fstatls(shared, arg)?,
                "FSIZE" => {
                    let v = size_of(&lock(&shared.script), &norm(arg));
                    self.send_unit(&v.to_be_bytes())?
                }
                "FSIZELS" => {
                    let sizes: Vec<i64> = {
                        let sc = lock(&shared.script);
                        list_lines(&sc, arg).iter().map(|p| size_of(&sc, &norm(p))).collect()
                    };
                    for v in sizes {
                        self.send_unit(&v.to_be_bytes())?;
                    }
                    self.send_unit(&(-3i64).to_be_bytes())?
                }
                "SHA256" => self.sha256(shared, arg)?,
                "GET" => self.get(shared, arg)?,
                "GETCAN" if lock(&shared.script).getcan => self.getcan(shared, arg)?,
                "RCVFILE" => self.rcvfile(shared, arg)?,
                "SDOWN" => self.sdown(shared, arg)?,
                "SNDFILE" => self.sndfile(shared, arg)?,
                "PUT" => self.put(shared, arg)?,
                "MKDIR" => self.mkdir(shared, arg)?,
                "TFDDELTAGET" => self.deltaget(shared, arg)?,
                // the same answers with its literals' choice before the rest
                "TFDDELTAGETZ" => {
                    let rest = tfp_wire::command::split_space(arg).map_or(&b""[..], |(_, r)| r);
                    self.deltaget(shared, rest)?
                }
                "TFDGETMANY" => self.getmany(shared, arg)?,
                "TFDGETZ" => self.getz(shared, arg)?,
                "TFDGETCANZ" => self.getcanz(shared, arg)?,
                "TFDLISTZ" => self.listz(shared)?,
                "TFDFEATURES" => {
                    let told = lock(&shared.script).features();
                    self.send_frame(&told)?
                }
                // TFDSECURE among them: an older server, so the legacy cipher stays
                _ => self.send_frame(b"UNKNOWN")?,
            }
            // (a command whose end the liar had to read a word for, as
            // GETCAN's stop, has flushed its answer already: the same test)
            if !self.client_spoke()? {
                lock(&shared.waited).push(line);
            }
            self.flush()?;
        }
    }

    /// LS/LSR (src/commands/listing.rs): `CONT <text>` chunks of at most
    /// MAX_CHUNK bytes, each answered by the client (`CONT`, or `BREAK`), then
    /// `OK`; an empty listing is `OK` alone.
    pub(super) fn ls(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let dir = norm(arg);
        if lock(&shared.script).endless.contains(&dir) {
            let mut n = 0u64;
            loop {
                let mut text = Vec::with_capacity(MAX_CHUNK);
                while text.len() + 64 < MAX_CHUNK {
                    text.extend_from_slice(format!("F: endless-{n}\n").as_bytes());
                    n += 1;
                }
                if !self.send_chunks(&text)? {
                    return self.send_frame(b"OK");
                }
            }
        }
        let text = {
            let sc = lock(&shared.script);
            if let Err(f) = sc.lists(&dir) {
                drop(sc);
                // tfd: a missing directory and a file are both 10
                let f = if f == Failed::NotADirectory {
                    Failed::NoSuchDir
                } else {
                    f
                };
                return self.send_failed(f);
            }
            sc.tagged(&dir, recursive)
        };
        self.send_chunks(&text)?;
        self.send_frame(b"OK")
    }

    /// The RCVFILE-style stream: a chunk, the client's answer, the next chunk.
    /// Returns false when the client broke it off.
    pub(super) fn send_chunks(&mut self, data: &[u8]) -> Io<bool> {
        for chunk in data.chunks(MAX_CHUNK) {
            let mut f = Vec::with_capacity(chunk.len() + 5);
            f.extend_from_slice(b"CONT ");
            f.extend_from_slice(chunk);
            self.send_frame(&f)?;
            let answer = self.recv_frame(MAX_FRAME)?;
            if answer == b"BREAK" {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// LSV2DOWN/LSRV2DOWN: `OK`, then per line a raw i32 length and the line,
    /// each its own unit, then −10. Missing: 53; a file: 20.
    pub(super) fn lsv2down(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let dir = norm(arg);
        if lock(&shared.script).endless.contains(&dir) {
            self.send_frame(b"OK")?;
            for n in 0u64.. {
                let line = format!("{dir}/endless-{n}\n");
                self.send_unit(&(line.len() as i32).to_be_bytes())?;
                self.send_unit(line.as_bytes())?;
                self.flush_if_big()?;
            }
        }
        let mut lines: Vec<Vec<u8>> = Vec::new();
        {
            let sc = lock(&shared.script);
            match sc.lists(&dir) {
                Ok(()) => sc.rooted(&dir, recursive, &mut |l| lines.push(l.to_vec())),
                Err(Failed::NoSuchDir) => return self.send_failed(Failed::LsrV2),
                Err(f) => return self.send_failed(f),
            }
        }
        self.send_frame(b"OK")?;
        for l in &lines {
            self.send_unit(&(l.len() as i32).to_be_bytes())?;
            self.send_unit(l)?;
        }
        self.send_unit(&(-10i32).to_be_bytes())
    }

    /// LSV2/LSRV2 `<dir>@||@<file>`: the rooted listing stored as `file`.
    pub(super) fn lsv2(&mut self, shared: &Shared, arg: &[u8], recursive: bool) -> Io<()> {
        let Some((dir, file)) = command::split_lsv2(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let (dir, file) = (norm(dir), norm(file));
        let mut sc = lock(&shared.script);
        let mut text = Vec::new();
        let f = match sc.lists(&dir) {
            Ok(()) => {
                sc.rooted(&dir, recursive, &mut |l| text.extend_from_slice(l));
                None
            }
            Err(Failed::NoSuchDir) => Some(Failed::LsrV2),
            Err(f) => Some(f),
        };
        if let Some(f) = f {
            drop(sc);
            return self.send_failed(f);
        }
        sc.set_file(&file, text);
        drop(sc);
        self.send_frame(b"OK")
    }

    /// FSTAT: `OK <D|F> <size> <atime> <mtime>`, missing → 9.
    pub(super) fn fstat(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        if arg.is_empty() {
            return self.send_failed(Failed::MissingParameter);
        }
        let st = stat_of(&lock(&shared.script), &norm(arg));
        match st {
            Some((kind, size)) => {
                let t = if kind == FileType::Dir { 'D' } else { 'F' };
                self.send_frame(format!("OK {t} {size} {MTIME} {MTIME}").as_bytes())
            }
            None => self.send_failed(Failed::NoSuchFile),
        }
    }

    /// FSTATLS `<listfile>`: one 26-byte record per line of the (virtual)
    /// list file, each its own unit, then the end record.
    pub(super) fn fstatls(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        if lock(&shared.script).endless.contains(&norm(arg)) {
            let r = StatRecord::Stat {
                kind: FileType::Regular,
                size: 1,
                atime: MTIME,
                mtime: MTIME,
            }
            .encode();
            loop {
                self.send_unit(&r)?;
                self.flush_if_big()?;
            }
        }
        let records: Vec<[u8; 26]> = {
            let sc = lock(&shared.script);
            list_lines(&sc, arg)
                .iter()
                .map(|p| match stat_of(&sc, &norm(p)) {
                    Some((kind, size)) => StatRecord::Stat {
                        kind,
                        size,
                        atime: MTIME,
                        mtime: MTIME,
                    }
                    .encode(),
                    None => StatRecord::Fail.encode(),
                })
                .collect()
        };
        for r in &records {
            self.send_unit(r)?;
        }
        self.send_unit(&StatRecord::End.encode())
    }

    pub(super) fn sha256(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        use sha2::{Digest, Sha256};
        let node = lock(&shared.script).file_at(&norm(arg));
        match node {
            Some(Node::File(c)) => {
                let d: [u8; 32] = Sha256::digest(&c).into();
                let text = tfp_wire::sha256_text(&d);
                self.send_frame(&[&b"OK "[..], &text].concat())
            }
            _ => self.send_failed(Failed::Sha256),
        }
    }

    /// The bytes a download of `path` sends, or the failure tfd gives.
    pub(super) fn download(
        &self,
        shared: &Shared,
        path: &str,
        missing: Failed,
        dir: Failed,
    ) -> Result<Vec<u8>, Failed> {
        let sc = lock(&shared.script);
        match sc.file_at(path) {
            Some(Node::File(c)) => Ok(sc.sent_bytes(path, &c)),
            Some(Node::Dir) => Err(dir),
            None => Err(missing),
        }
    }

    /// An HPF download's request read and its file found, the grant sent;
    /// None when it was refused (the refusal sent).
    pub(super) fn hpf_open(&mut self, shared: &Shared, arg: &[u8], can: bool) -> Io<Option<Opened>> {
        let Some(req) = hpf::parse(arg, can) else {
            self.send_failed(Failed::MissingParameter)?;
            return Ok(None);
        };
        if req.bufsz <= 0 {
            self.send_failed(Failed::HpfBuffer)?;
            return Ok(None);
        }
        let data = match self.download(shared, &norm(req.path), Failed::HpfOpen, Failed::HpfOpen) {
            Ok(d) => d,
            Err(f) => {
                self.send_failed(f)?;
                return Ok(None);
            }
        };
        let grant = req.bufsz.min(MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        let from = usize::try_from(req.offset).unwrap_or(usize::MAX).min(data.len());
        Ok(Some(Opened {
            data,
            from,
            grant,
            canpt: req.canpt.unwrap_or(0),
        }))
    }

    /// GET `<path> <offset,bufsz>` (src/commands/hpf.rs): `OK <i64 grant>`, then
    /// `[i64 len][data]` units, 0, the client's FIN (−127), our FIN.
    pub(super) fn get(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(Opened { data, from, grant, .. }) = self.hpf_open(shared, arg, false)? else {
            return Ok(());
        };
        // a client that has its range cancels (−2) then FINs; as tfd, no end
        // code follows a cancel
        let (mut cancelled, mut fin) = (false, false);
        for chunk in data[from..].chunks(grant as usize) {
            if self.client_spoke()? {
                match self.recv_i64()? {
                    hpf::code::CANCEL => cancelled = true,
                    hpf::code::FIN => (cancelled, fin) = (true, true),
                    _ => {
                        shared.spoke_mid_get.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                if cancelled {
                    break;
                }
            }
            self.send_unit(&(chunk.len() as i64).to_be_bytes())?;
            self.send_unit(chunk)?;
        }
        if !cancelled {
            self.send_unit(&hpf::code::END.to_be_bytes())?;
        }
        while !fin {
            fin = self.recv_i64()? == hpf::code::FIN;
        }
        self.send_unit(&hpf::code::FIN.to_be_bytes())
    }

    /// GETCAN `<path> <offset,bufsz,canpt>` as tfd serves it
    /// (src/commands/hpf.rs): `OK <grant>`, chunks, after every `canpt` of
    /// them the client's word (CONT goes on, anything else stops, silently),
    /// 0 at the end of the file, no FIN.
    pub(super) fn getcan(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(Opened {
            data,
            from,
            grant,
            canpt,
        }) = self.hpf_open(shared, arg, true)?
        else {
            return Ok(());
        };
        let (grant, mut pos) = (grant as usize, from);
        let mut chunks = 0u64;
        while pos < data.len() {
            let chunk = &data[pos..data.len().min(pos + grant)];
            self.send_unit(&(chunk.len() as i64).to_be_bytes())?;
            self.send_unit(chunk)?;
            pos += chunk.len();
            chunks += 1;
            if canpt > 0 && chunks % canpt == 0 && self.recv_i64()? != hpf::code::CONT {
                return Ok(());
            }
        }
        self.send_unit(&hpf::code::END.to_be_bytes())
    }

    /// Whether the client has sent something not yet read (GET's cancel),
    /// without waiting for it.
    pub(super) fn client_spoke(&mut self) -> Io<bool> {
        if !self.rd.buffer().is_empty() {
            return Ok(true);
        }
        let s = self.rd.get_ref();
        s.set_nonblocking(true)?;
        let mut b = [0u8; 1];
        let r = s.peek(&mut b);
        s.set_nonblocking(false)?;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// RCVFILE `<0|1> <path>`: the chunk stream, then `OK`; missing → 9, a
    /// directory → 8.
    pub(super) fn rcvfile(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some((_, path)) = command::split_space(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let p = norm(path);
        let endless = {
            let sc = lock(&shared.script);
            sc.endless.contains(&p) && sc.file_at(&p).is_none()
        };
        if endless {
            // a list file that never ends: `p/endless-N` lines
            let mut n = 0u64;
            loop {
                let mut text = Vec::with_capacity(MAX_CHUNK);
                while text.len() + 64 < MAX_CHUNK {
                    text.extend_from_slice(format!("{p}/endless-{n}\n").as_bytes());
                    n += 1;
                }
                if !self.send_chunks(&text)? {
                    return self.send_frame(b"OK");
                }
            }
        }
        match self.download(shared, &norm(path), Failed::NoSuchFile, Failed::IsDirectory) {
            Ok(d) => {
                self.send_chunks(&d)?;
                self.send_frame(b"OK")
            }
            Err(f) => self.send_failed(f),
        }
    }

    /// SDOWN `<path>`: `[i32 len][data]` units, then 0; −1 alone when it
    /// cannot be read.
    pub(super) fn sdown(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        match self.download(shared, &norm(arg), Failed::NoSuchFile, Failed::IsDirectory) {
            Ok(d) => {
                for chunk in d.chunks(MAX_FRAME) {
                    self.send_unit(&(chunk.len() as i32).to_be_bytes())?;
                    self.send_unit(chunk)?;
                }
                self.send_unit(&0i32.to_be_bytes())
            }
            Err(_) => self.send_unit(&(-1i32).to_be_bytes()),
        }
    }

    /// SNDFILE `<0|1> <path>`: `CONT`, then each `CONT <data>` frame answered
    /// `CONT`, the client's `OK` (keep) or `BREAK` (drop) answered `OK`.
    pub(super) fn sndfile(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some((flag, path)) = command::split_space(arg) else {
            return self.send_failed(Failed::MissingParameter);
        };
        let path = norm(path);
        if lock(&shared.script).tree.contains_key(&path) && !flag.starts_with(b"1") {
            return self.send_failed(Failed::FileExists);
        }
        self.send_frame(b"CONT")?;
        let mut data = Vec::new();
        loop {
            let f = self.recv_frame(MAX_FRAME)?;
            let (word, rest) = match f.iter().position(|&b| b == b' ') {
                Some(i) => (&f[..i], &f[i + 1..]),
                None => (&f[..], &f[f.len()..]),
            };
            match word {
                b"OK" => {
                    lock(&shared.script).set_file(&path, data);
                    break;
                }
                b"BREAK" => break,
                _ => {
                    data.extend_from_slice(rest);
                    self.send_frame(b"CONT")?;
                }
            }
        }
        self.send_frame(b"OK")
    }

    /// PUT `<path> <offset,bufsz>`: `OK <grant>`, `[i64 len][data]` units to
    /// 0, our FIN, the client's FIN. Writes in place at the offset.
    pub(super) fn put(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(req) = hpf::parse(arg, false) else {
            return self.send_failed(Failed::MissingParameter);
        };
        if req.bufsz <= 0 {
            return self.send_failed(Failed::HpfBuffer);
        }
        let path = norm(req.path);
        let grant = req.bufsz.min(MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        let mut data = match lock(&shared.script).tree.get(&path) {
            Some(Node::File(c)) => c.clone(),
            _ => Vec::new(),
        };
        let mut at = usize::try_from(req.offset).map_err(bad)?;
        let end = loop {
            let len = self.recv_i64()?;
            if len <= 0 {
                break len;
            }
            if len > grant {
                return Err(bad("PUT chunk over the grant"));
            }
            let chunk = self.recv_unit(len as usize)?;
            if data.len() < at + chunk.len() {
                data.resize(at + chunk.len(), 0);
            }
            data[at..at + chunk.len()].copy_from_slice(&chunk);
            at += chunk.len();
        };
        if end == hpf::code::END || end == hpf::code::STOP {
            lock(&shared.script).set_file(&path, data);
        }
        self.send_unit(&hpf::code::FIN.to_be_bytes())?;
        if end != hpf::code::FIN {
            loop {
                match self.recv_i64()? {
                    hpf::code::FIN => break,
                    n if n > 0 && n <= grant => {
                        self.recv_unit(n as usize)?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// MKDIR: OK, or 4 when it exists, 1 when its parent does not.
    pub(super) fn mkdir(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let p = norm(arg);
        let mut sc = lock(&shared.script);
        let parent = p.rsplit_once('/').map_or("", |(a, _)| a).to_string();
        let f = if sc.tree.contains_key(&p) {
            Some(Failed::DirExists)
        } else if sc.tree.get(&parent) != Some(&Node::Dir) || p.split('/').any(|c| c == "..") {
            Some(Failed::AccessDenied)
        } else {
            sc.tree.insert(p, Node::Dir);
            None
        };
        drop(sc);
        match f {
            Some(f) => self.send_failed(f),
            None => self.send_frame(b"OK"),
        }
    }
}

/// What FSTAT and FSTATLS report for `p`: its type and (claimed) size.
fn stat_of(sc: &Script, p: &str) -> Option<(FileType, u64)> {
    match sc.file_at(p)? {
        Node::Dir => Some((FileType::Dir, 4096)),
        Node::File(c) => Some((FileType::Regular, sc.claimed_size(p, c.len()))),
    }
}

/// FSIZE's answer: the (claimed) size, −2 for a directory, −1 when missing.
fn size_of(sc: &Script, p: &str) -> i64 {
    match sc.file_at(p) {
        Some(Node::File(c)) => i64::try_from(sc.claimed_size(p, c.len())).unwrap_or(i64::MAX),
        Some(Node::Dir) => -2,
        None => -1,
    }
}

/// The lines of a list file in the tree (FSTATLS, FSIZELS), without their
/// `\n` or `\r\n`; none when it is not a file the tree holds.
fn list_lines(sc: &Script, arg: &[u8]) -> Vec<Vec<u8>> {
    let Some(Node::File(c)) = sc.tree.get(&norm(arg)) else {
        return Vec::new();
    };
    let body = c.strip_suffix(b"\n").unwrap_or(c);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect()
}
