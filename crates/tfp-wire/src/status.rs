//! Status replies: `OK`, `OK <data>`, `FAILED <n> : <text>`, `UNKNOWN`.
//!
//! Every FAILED code tfd can send is a variant of [`Failed`], with the reference's
//! exact text (wire-notes §3.0), so the wire bytes are defined in exactly one place.

/// Declares [`Failed`] from one table: per code its number on the wire, its
/// name, and the reference's exact text (wire-notes §3.0). The enum,
/// [`Failed::text`] and [`Failed::ALL`] are all generated from it, so they
/// cannot drift apart.
macro_rules! failed_codes {
    ($($(#[doc = $doc:literal])* $code:literal $name:ident => $text:literal,)*) => {
        /// A protocol failure code. The discriminant is the number sent on the wire.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Failed {
            $($(#[doc = $doc])* $name = $code,)*
        }

        impl Failed {
            /// The reference's text for the code, without the number.
            pub fn text(self) -> &'static str {
                match self {
                    $(Failed::$name => $text,)*
                }
            }

            /// Every code, in numeric order (for tests and documentation).
            pub const ALL: &'static [Failed] = &[$(Failed::$name,)*];
        }
    };
}

failed_codes! {
    /// The path escapes the root, or the OS refused access.
    1 AccessDenied => "Access denied to location.",
    /// The client asked for a protocol version this server does not speak.
    2 IncompatibleProtocol => "Incompatible protocol.",
    /// The application hash did not match.
    3 InvalidHash => "Invalid hash string.",
    /// The directory to create exists.
    4 DirExists => "Directory already exist.",
    /// ADDNTFY could not register the watch.
    5 NotifyAdd => "Error adding new notification to listen.",
    /// STARTNTFY without any ADDNTFY.
    6 NotifyEmpty => "Notify path list empty.",
    /// A file transfer could not be set up or continued.
    7 TransferApi => "File transfer API error.",
    /// The path names a directory where a file is required.
    8 IsDirectory => "Requested file is a directory.",
    /// The file does not exist.
    9 NoSuchFile => "File does not exist.",
    /// The directory does not exist.
    10 NoSuchDir => "Directory does not exist.",
    /// A temporary file could not be made.
    11 TempFile => "Failed to make a temporary file.",
    /// The file to create exists.
    12 FileExists => "File already exist.",
    /// The disk or the user's quota is full.
    13 Quota => "Quota exceeded.",
    /// Memory could not be allocated.
    14 Memory => "Internal memory error.",
    /// RMDIR left the directory in place.
    15 DirStillExists => "Directory to remove still exist.",
    /// A required argument is missing.
    16 MissingParameter => "Missing parameter from command.",
    /// COPY: the source does not exist.
    17 NoSource => "Source file does not exist.",
    /// COPY failed for another reason.
    18 CopyError => "Copy general error.",
    /// COPY: the source is a directory.
    19 CannotLinkDir => "Directory can't be linked.",
    /// The source is not a directory.
    20 NotADirectory => "Source path is not a directory.",
    /// CPDIR failed part way.
    21 ReplicateTree => "Error replicating directory tree.",
    /// A path could not be built.
    22 PathMemory => "Memory error while creating space for path.",
    /// The source is not a regular file.
    23 NotAFile => "Source path is not a file.",
    /// TOUCH could not create the file.
    24 CreateFile => "Error creating new file.",
    /// The RSA-encrypted session key was unusable.
    25 BadRsaKey => "Bad public rsa encryption key.",
    /// DTOF: the timestamp is out of range.
    26 DateNotRepresentable => "Date is not representable.",
    /// FUPD failed.
    27 TimestampUpdate => "Timestamp updating failed.",
    /// LOCK: the name contains `.` or `/`.
    28 InvalidLockToken => "Invalid characters in lock token.",
    /// The source path does not exist.
    29 NoSourcePath => "Source path does not exist.",
    /// The directory holds the session's lock file.
    30 Locked => "Directory is locked.",
    /// rename(2) refused.
    31 Rename => "Invalid renaming operation.",
    /// KEEPALIVE could not set the socket options.
    32 Keepalive => "Failed to set TCP keepalive parameters.",
    /// PROCKEY: no key for this session.
    33 NoProcKey => "Process without unique key.",
    /// HPF: the file could not be opened.
    34 HpfOpen => "H-P interface failed to open file descriptor.",
    /// HPF: the offset could not be set.
    35 HpfSeek => "H-P interface failed to set file position.",
    /// HPF: no buffer could be granted.
    36 HpfBuffer => "H-P interface failed to allocate the buffer.",
    /// LOGIN failed (wrong user or password, or the switch failed).
    37 LoginFailed => "Login failed.",
    /// A command other than END/LOGIN/KEEPALIVE/PROCKEY before LOGIN.
    38 BeforeLogin => "Invalid command before login.",
    /// LOGIN in a session that is already logged in.
    39 AlreadyLogged => "The process is already logged.",
    /// The user database is unavailable.
    40 UserDb => "Failed to open users database.",
    /// CHMOD failed.
    41 Chmod => "Failed to change file mode.",
    /// CHOWN: unknown system user.
    42 NoSuchUser => "System user does not exist.",
    /// CHOWN: unknown system group.
    43 NoSuchGroup => "System group does not exist.",
    /// CHOWN failed.
    44 Chown => "Failed to change file ownership.",
    /// SHA256 could not read the file.
    45 Sha256 => "Failed to make SHA256 hash.",
    /// NIGMA: bad key length.
    46 Nigma => "Failed to swap the session key.",
    /// RMSECDIR: wrong token or not a secure directory.
    47 RmSecDir => "Failed removing secure directory.",
    /// INJAIL: the jail has no readable `jail.key`.
    48 JailAcl => "Failed to open ACL file in jail directory.",
    /// INJAIL: the token is not in `jail.key`.
    49 JailToken => "Invalid security token in jail directory.",
    /// A command other than INJAIL (and END) before INJAIL.
    50 BeforeInjail => "Invalid command before in-jail.",
    /// INJAIL in a session that is already jailed, or jails are off.
    51 AlreadyJailed => "The process is already in-jailed.",
    /// TLB: no tuple to give.
    52 Tlb => "Failed to retrieve TLB tuple.",
    /// LSV2/LSRV2 (and the DOWN forms): the listing could not be made.
    53 LsrV2 => "Failed running LSRV2.",
    /// NETLOCK/NETUNLOCK failed.
    54 NetLock => "Failed to acquire or release NETLOCK.",
    /// NETMUTACQ_TRY/NETMUTREL failed.
    55 NetMut => "Failed to acquire or release NETMUT.",
    /// An alias could not be set.
    56 Alias => "Failed setting an alias.",
    /// SETFSPERM failed.
    57 SetFsPerm => "Failed setting secure FS permission.",
    /// REMFSPERM failed.
    58 RemFsPerm => "Failed removing secure FS permission.",
    /// GETFSPERM failed.
    59 GetFsPerm => "Failed getting secure FS permission identity.",
    /// ISSECFS: the directory is not part of the secure filesystem.
    60 NotSecureFs => "The directory does not belongs to secure FS.",
    /// LOCKSYS refused, or a command before LOCKSYS.
    61 LockSys => "Unable to use Folder Locking System.",
    /// TASFS: the file exists or cannot be made.
    62 CreateRequested => "Unable to create the requested file.",
    /// RMKDIR created only part of the path, or none.
    63 RecursiveMkdir => "Failed to create directory recursively.",
    /// RUNBASH refused or failed.
    64 RunBash => "Failed running RUNBASH command.",
    /// FLYCONTEXT refused, or a command before FLYCONTEXT.
    65 FlyContext => "Unable to use the FlyContext System.",
    /// GOAES failed.
    66 Aes => "Unable to start AES encryption system.",
    /// FAITOK failed, or was already used.
    67 FaiInit => "Failed initializing FAI interface.",
    /// The FAI token is unknown or expired.
    68 FaiExpired => "Token expired for FAI access.",
    /// The FAI key is unusable.
    69 FaiKey => "FAI key is invalid.",
    /// tfd's own: the secure transport upgrade failed (the session ends).
    200 Secure => "Secure transport failed.",
    /// tfd's own: `secure_transport require` and the session has not upgraded.
    201 SecureRequired => "Secure transport required.",
    /// tfd's own: `user_keys no`, users do not manage their own keys.
    202 UserKeysOff => "This server does not let users manage their own keys.",
    /// tfd's own: a user's key was not added or removed (the text says why).
    203 UserKey => "The key was not added or removed.",
}

/// `FAILED 13`'s text when the server's file system is full (ENOSPC): the
/// code is the document's "disk or quota", which a reference client reads;
/// the text tells a person which. tf names the cause from it
/// ([`room_cause`]).
pub const DISK_FULL: &str = "No space left on the server's disk.";

/// What a `FAILED 13` (or a stage's failure) says ran out, read from the
/// text tfd sends; `None` for a text that does not say (the reference's, an
/// older tfd's).
pub fn room_cause(text: &str) -> Option<Room> {
    if text.starts_with(DISK_FULL.trim_end_matches('.')) {
        Some(Room::Disk)
    } else if text.starts_with("Quota exceeded") {
        Some(Room::Quota)
    } else {
        None
    }
}

/// What ran out under an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// The server's file system is full.
    Disk,
    /// The user's quota (tfd's own, or the file system's) is used up.
    Quota,
}

impl Failed {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exact wire bytes: `FAILED <n> : <text>`.
    pub fn to_wire(self) -> Vec<u8> {
        format!("FAILED {} : {}", self.code(), self.text()).into_bytes()
    }

    /// Looks a code up by number.
    pub fn from_code(n: u8) -> Option<Failed> {
        Failed::ALL.iter().copied().find(|f| f.code() == n)
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FAILED {} : {}", self.code(), self.text())
    }
}

/// A status line as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `OK` with optional data after one space.
    Ok(Vec<u8>),
    /// `FAILED n : text` (code and the text as sent).
    Failed(i32, String),
    /// `UNKNOWN`.
    Unknown,
    /// Anything else (e.g. `CONT …` or a bare payload).
    Other(Vec<u8>),
}

impl Status {
    /// Parses a reply frame.
    pub fn parse(frame: &[u8]) -> Status {
        if frame == b"OK" {
            return Status::Ok(Vec::new());
        }
        if let Some(rest) = frame.strip_prefix(b"OK ") {
            return Status::Ok(rest.to_vec());
        }
        if frame == b"UNKNOWN" {
            return Status::Unknown;
        }
        if let Some(rest) = frame.strip_prefix(b"FAILED") {
            let text = String::from_utf8_lossy(rest).trim().to_string();
            let num: String = text.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
            let code = num.parse().unwrap_or(-1);
            let msg = text
                .split_once(':')
                .map(|(_, m)| m.trim().to_string())
                .unwrap_or_default();
            return Status::Failed(code, msg);
        }
        Status::Other(frame.to_vec())
    }

    /// The FAILED code, if this is a failure.
    pub fn failed_code(&self) -> Option<i32> {
        match self {
            Status::Failed(c, _) => Some(*c),
            _ => None,
        }
    }
}

/// Why the server refused a command, as a client matches it: a FAILED code
/// tfd knows, another FAILED number, or the UNKNOWN reply.
///
/// ```
/// use tfp_wire::{status::Code, Failed, Status};
///
/// let st = Status::parse(b"FAILED 9 : File does not exist.");
/// assert_eq!(Code::of(&st), Some(Code::Known(Failed::NoSuchFile)));
/// assert_eq!(Code::of(&Status::parse(b"FAILED 250 : odd")), Some(Code::Other(250)));
/// assert_eq!(Code::of(&Status::Unknown), Some(Code::Unknown));
/// assert_eq!(Code::of(&Status::parse(b"OK 12")), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// `FAILED n` with an `n` of the [`Failed`] table.
    Known(Failed),
    /// `FAILED n` with a number tfd does not know.
    Other(i32),
    /// `UNKNOWN`: the server does not know the command (or refused it as such).
    Unknown,
}

impl Code {
    /// The refusal a status is: None for `OK` and for frames that are no
    /// status (`CONT …`).
    pub fn of(st: &Status) -> Option<Code> {
        match st {
            Status::Failed(n, _) => Some(
                u8::try_from(*n)
                    .ok()
                    .and_then(Failed::from_code)
                    .map_or(Code::Other(*n), Code::Known),
            ),
            Status::Unknown => Some(Code::Unknown),
            Status::Ok(_) | Status::Other(_) => None,
        }
    }

    /// The FAILED number (None for UNKNOWN).
    pub fn number(self) -> Option<i32> {
        match self {
            Code::Known(f) => Some(i32::from(f.code())),
            Code::Other(n) => Some(n),
            Code::Unknown => None,
        }
    }

    /// The known FAILED code, if it is one.
    pub fn failed(self) -> Option<Failed> {
        match self {
            Code::Known(f) => Some(f),
            _ => None,
        }
    }
}

impl std::fmt::Display for Code {
    /// `FAILED 9`, `FAILED 250` or `UNKNOWN`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.number() {
            Some(n) => write!(f, "FAILED {n}"),
            None => write!(f, "UNKNOWN"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ordered_and_texts_exact() {
        // ascending and unique; 2.5.1 codes arrive family by family, so gaps are fine
        for (i, f) in Failed::ALL.iter().enumerate() {
            assert!(i == 0 || Failed::ALL[i - 1].code() < f.code(), "{f:?} out of order");
            assert_eq!(Failed::from_code(f.code()), Some(*f));
        }
        assert_eq!(Failed::ALL.len(), 73, "every code of 2.5.1 and tfd's own");
        assert_eq!(Failed::ALL[51].code(), 52);
        assert_eq!(
            Failed::NotSecureFs.to_wire(),
            b"FAILED 60 : The directory does not belongs to secure FS."
        );
        assert_eq!(
            Failed::MissingParameter.to_wire(),
            b"FAILED 16 : Missing parameter from command."
        );
        assert_eq!(Failed::Tlb.to_wire(), b"FAILED 52 : Failed to retrieve TLB tuple.");
        assert_eq!(Failed::LsrV2.to_wire(), b"FAILED 53 : Failed running LSRV2.");
        assert_eq!(
            Failed::RecursiveMkdir.to_wire(),
            b"FAILED 63 : Failed to create directory recursively."
        );
        assert_eq!(Failed::FaiKey.to_wire(), b"FAILED 69 : FAI key is invalid.");
        for f in Failed::ALL {
            assert_eq!(Code::of(&Status::parse(&f.to_wire())), Some(Code::Known(*f)));
        }
        assert_eq!(Code::of(&Status::Failed(-1, String::new())), Some(Code::Other(-1)));
        assert_eq!(Code::of(&Status::Failed(300, String::new())), Some(Code::Other(300)));
    }

    #[test]
    fn parse_replies() {
        assert_eq!(Status::parse(b"OK"), Status::Ok(vec![]));
        assert_eq!(Status::parse(b"OK 12"), Status::Ok(b"12".to_vec()));
        assert_eq!(Status::parse(b"UNKNOWN"), Status::Unknown);
        assert_eq!(Status::parse(b"FAILED 9 : File does not exist.").failed_code(), Some(9));
        assert_eq!(Status::parse(b"FAILED ").failed_code(), Some(-1));
        assert_eq!(Status::parse(b"CONT x"), Status::Other(b"CONT x".to_vec()));
    }
}
