//! Status replies: `OK`, `OK <data>`, `FAILED <n> : <text>`, `UNKNOWN`.
//!
//! Every FAILED code tfd can send is a variant of [`Failed`], with the reference's
//! exact text (wire-notes §3.0), so the wire bytes are defined in exactly one place.

/// A protocol failure code. The discriminant is the number sent on the wire.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Failed {
    /// The path escapes the root, or the OS refused access.
    AccessDenied = 1,
    /// The client asked for a protocol version this server does not speak.
    IncompatibleProtocol = 2,
    /// The application hash did not match.
    InvalidHash = 3,
    /// The directory to create exists.
    DirExists = 4,
    /// ADDNTFY could not register the watch.
    NotifyAdd = 5,
    /// STARTNTFY without any ADDNTFY.
    NotifyEmpty = 6,
    /// A file transfer could not be set up or continued.
    TransferApi = 7,
    /// The path names a directory where a file is required.
    IsDirectory = 8,
    /// The file does not exist.
    NoSuchFile = 9,
    /// The directory does not exist.
    NoSuchDir = 10,
    /// A temporary file could not be made.
    TempFile = 11,
    /// The file to create exists.
    FileExists = 12,
    /// The disk or the user's quota is full.
    Quota = 13,
    /// Memory could not be allocated.
    Memory = 14,
    /// RMDIR left the directory in place.
    DirStillExists = 15,
    /// A required argument is missing.
    MissingParameter = 16,
    /// COPY: the source does not exist.
    NoSource = 17,
    /// COPY failed for another reason.
    CopyError = 18,
    /// COPY: the source is a directory.
    CannotLinkDir = 19,
    /// The source is not a directory.
    NotADirectory = 20,
    /// CPDIR failed part way.
    ReplicateTree = 21,
    /// A path could not be built.
    PathMemory = 22,
    /// The source is not a regular file.
    NotAFile = 23,
    /// TOUCH could not create the file.
    CreateFile = 24,
    /// The RSA-encrypted session key was unusable.
    BadRsaKey = 25,
    /// DTOF: the timestamp is out of range.
    DateNotRepresentable = 26,
    /// FUPD failed.
    TimestampUpdate = 27,
    /// LOCK: the name contains `.` or `/`.
    InvalidLockToken = 28,
    /// The source path does not exist.
    NoSourcePath = 29,
    /// The directory holds the session's lock file.
    Locked = 30,
    /// rename(2) refused.
    Rename = 31,
    /// KEEPALIVE could not set the socket options.
    Keepalive = 32,
    /// PROCKEY: no key for this session.
    NoProcKey = 33,
    /// HPF: the file could not be opened.
    HpfOpen = 34,
    /// HPF: the offset could not be set.
    HpfSeek = 35,
    /// HPF: no buffer could be granted.
    HpfBuffer = 36,
    /// LOGIN failed (wrong user or password, or the switch failed).
    LoginFailed = 37,
    /// A command other than END/LOGIN/KEEPALIVE/PROCKEY before LOGIN.
    BeforeLogin = 38,
    /// LOGIN in a session that is already logged in.
    AlreadyLogged = 39,
    /// The user database is unavailable.
    UserDb = 40,
    /// CHMOD failed.
    Chmod = 41,
    /// CHOWN: unknown system user.
    NoSuchUser = 42,
    /// CHOWN: unknown system group.
    NoSuchGroup = 43,
    /// CHOWN failed.
    Chown = 44,
    /// SHA256 could not read the file.
    Sha256 = 45,
    /// NIGMA: bad key length.
    Nigma = 46,
    /// RMSECDIR: wrong token or not a secure directory.
    RmSecDir = 47,
    /// INJAIL: the jail has no readable `jail.key`.
    JailAcl = 48,
    /// INJAIL: the token is not in `jail.key`.
    JailToken = 49,
    /// A command other than INJAIL (and END) before INJAIL.
    BeforeInjail = 50,
    /// INJAIL in a session that is already jailed, or jails are off.
    AlreadyJailed = 51,
    /// TLB: no tuple to give.
    Tlb = 52,
    /// LSV2/LSRV2 (and the DOWN forms): the listing could not be made.
    LsrV2 = 53,
    /// NETLOCK/NETUNLOCK failed.
    NetLock = 54,
    /// NETMUTACQ_TRY/NETMUTREL failed.
    NetMut = 55,
    /// An alias could not be set.
    Alias = 56,
    /// SETFSPERM failed.
    SetFsPerm = 57,
    /// REMFSPERM failed.
    RemFsPerm = 58,
    /// GETFSPERM failed.
    GetFsPerm = 59,
    /// ISSECFS: the directory is not part of the secure filesystem.
    NotSecureFs = 60,
    /// LOCKSYS refused, or a command before LOCKSYS.
    LockSys = 61,
    /// TASFS: the file exists or cannot be made.
    CreateRequested = 62,
    /// RMKDIR created only part of the path, or none.
    RecursiveMkdir = 63,
    /// RUNBASH refused or failed.
    RunBash = 64,
    /// FLYCONTEXT refused, or a command before FLYCONTEXT.
    FlyContext = 65,
    /// GOAES failed.
    Aes = 66,
    /// FAITOK failed, or was already used.
    FaiInit = 67,
    /// The FAI token is unknown or expired.
    FaiExpired = 68,
    /// The FAI key is unusable.
    FaiKey = 69,
    /// tfd's own: the secure transport upgrade failed (the session ends).
    Secure = 200,
    /// tfd's own: `secure_transport require` and the session has not upgraded.
    SecureRequired = 201,
}

impl Failed {
    /// The reference's text for the code, without the number.
    pub fn text(self) -> &'static str {
        use Failed::*;
        match self {
            AccessDenied => "Access denied to location.",
            IncompatibleProtocol => "Incompatible protocol.",
            InvalidHash => "Invalid hash string.",
            DirExists => "Directory already exist.",
            NotifyAdd => "Error adding new notification to listen.",
            NotifyEmpty => "Notify path list empty.",
            TransferApi => "File transfer API error.",
            IsDirectory => "Requested file is a directory.",
            NoSuchFile => "File does not exist.",
            NoSuchDir => "Directory does not exist.",
            TempFile => "Failed to make a temporary file.",
            FileExists => "File already exist.",
            Quota => "Quota exceeded.",
            Memory => "Internal memory error.",
            DirStillExists => "Directory to remove still exist.",
            MissingParameter => "Missing parameter from command.",
            NoSource => "Source file does not exist.",
            CopyError => "Copy general error.",
            CannotLinkDir => "Directory can't be linked.",
            NotADirectory => "Source path is not a directory.",
            ReplicateTree => "Error replicating directory tree.",
            PathMemory => "Memory error while creating space for path.",
            NotAFile => "Source path is not a file.",
            CreateFile => "Error creating new file.",
            BadRsaKey => "Bad public rsa encryption key.",
            DateNotRepresentable => "Date is not representable.",
            TimestampUpdate => "Timestamp updating failed.",
            InvalidLockToken => "Invalid characters in lock token.",
            NoSourcePath => "Source path does not exist.",
            Locked => "Directory is locked.",
            Rename => "Invalid renaming operation.",
            Keepalive => "Failed to set TCP keepalive parameters.",
            NoProcKey => "Process without unique key.",
            HpfOpen => "H-P interface failed to open file descriptor.",
            HpfSeek => "H-P interface failed to set file position.",
            HpfBuffer => "H-P interface failed to allocate the buffer.",
            LoginFailed => "Login failed.",
            BeforeLogin => "Invalid command before login.",
            AlreadyLogged => "The process is already logged.",
            UserDb => "Failed to open users database.",
            Chmod => "Failed to change file mode.",
            NoSuchUser => "System user does not exist.",
            NoSuchGroup => "System group does not exist.",
            Chown => "Failed to change file ownership.",
            Sha256 => "Failed to make SHA256 hash.",
            Nigma => "Failed to swap the session key.",
            RmSecDir => "Failed removing secure directory.",
            JailAcl => "Failed to open ACL file in jail directory.",
            JailToken => "Invalid security token in jail directory.",
            BeforeInjail => "Invalid command before in-jail.",
            AlreadyJailed => "The process is already in-jailed.",
            Tlb => "Failed to retrieve TLB tuple.",
            LsrV2 => "Failed running LSRV2.",
            NetLock => "Failed to acquire or release NETLOCK.",
            NetMut => "Failed to acquire or release NETMUT.",
            Alias => "Failed setting an alias.",
            SetFsPerm => "Failed setting secure FS permission.",
            RemFsPerm => "Failed removing secure FS permission.",
            GetFsPerm => "Failed getting secure FS permission identity.",
            NotSecureFs => "The directory does not belongs to secure FS.",
            LockSys => "Unable to use Folder Locking System.",
            CreateRequested => "Unable to create the requested file.",
            RecursiveMkdir => "Failed to create directory recursively.",
            RunBash => "Failed running RUNBASH command.",
            FlyContext => "Unable to use the FlyContext System.",
            Aes => "Unable to start AES encryption system.",
            FaiInit => "Failed initializing FAI interface.",
            FaiExpired => "Token expired for FAI access.",
            FaiKey => "FAI key is invalid.",
            Secure => "Secure transport failed.",
            SecureRequired => "Secure transport required.",
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exact wire bytes: `FAILED <n> : <text>`.
    pub fn to_wire(self) -> Vec<u8> {
        format!("FAILED {} : {}", self.code(), self.text()).into_bytes()
    }

    /// Every code, in numeric order (for tests and documentation).
    pub const ALL: [Failed; 71] = {
        use Failed::*;
        [
            AccessDenied,
            IncompatibleProtocol,
            InvalidHash,
            DirExists,
            NotifyAdd,
            NotifyEmpty,
            TransferApi,
            IsDirectory,
            NoSuchFile,
            NoSuchDir,
            TempFile,
            FileExists,
            Quota,
            Memory,
            DirStillExists,
            MissingParameter,
            NoSource,
            CopyError,
            CannotLinkDir,
            NotADirectory,
            ReplicateTree,
            PathMemory,
            NotAFile,
            CreateFile,
            BadRsaKey,
            DateNotRepresentable,
            TimestampUpdate,
            InvalidLockToken,
            NoSourcePath,
            Locked,
            Rename,
            Keepalive,
            NoProcKey,
            HpfOpen,
            HpfSeek,
            HpfBuffer,
            LoginFailed,
            BeforeLogin,
            AlreadyLogged,
            UserDb,
            Chmod,
            NoSuchUser,
            NoSuchGroup,
            Chown,
            Sha256,
            Nigma,
            RmSecDir,
            JailAcl,
            JailToken,
            BeforeInjail,
            AlreadyJailed,
            Tlb,
            LsrV2,
            NetLock,
            NetMut,
            Alias,
            SetFsPerm,
            RemFsPerm,
            GetFsPerm,
            NotSecureFs,
            LockSys,
            CreateRequested,
            RecursiveMkdir,
            RunBash,
            FlyContext,
            Aes,
            FaiInit,
            FaiExpired,
            FaiKey,
            Secure,
            SecureRequired,
        ]
    };

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
