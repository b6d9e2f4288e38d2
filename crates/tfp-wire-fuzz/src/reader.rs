//! How a fuzz body reads its input: structured values taken off the front of
//! arbitrary bytes. The one reader of both fuzz crates' bodies (the daemon's,
//! crates/tfd-fuzz-bodies, use it too), so both read an input alike.

/// Takes structured values off the front of the input; past the end everything is 0.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let b = self.take(N);
        out[..b.len()].copy_from_slice(b);
        out
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    /// A session key as the handshake allows it (1..=214 bytes; the cipher itself
    /// takes any non-empty key, so short ones are fuzzed too).
    pub fn key(&mut self) -> Vec<u8> {
        let len = 1 + usize::from(self.u8()) % 214;
        let mut k = self.take(len).to_vec();
        if k.is_empty() {
            k.push(0);
        }
        k
    }
}
