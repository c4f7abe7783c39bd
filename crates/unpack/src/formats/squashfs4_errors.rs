//! Words for backhand's errors. Built without its `error-strings` feature, backhand prints
//! nothing for an error (`Display` and `Debug` are empty), so a damaged SquashFS said only
//! "squashfs tables: ". Each variant is named here instead.

use backhand::BackhandError;

pub fn describe(e: &BackhandError) -> String {
    use BackhandError as E;
    match e {
        E::StdIo(io) => format!("read error: {io}"),
        E::Deku(d) => format!("a table or inode does not parse: {d}"),
        E::StringUtf8(_) | E::StrUtf8(_) => "a name is not valid UTF-8".into(),
        E::UnsupportedCompression(m) => format!("decompression failed: {m}"),
        E::MissingCompressor => "no decompressor for this filesystem's compression".into(),
        E::FileNotFound => "a file the tables refer to is missing".into(),
        E::Unreachable => "an inconsistent table (backhand: unreachable branch)".into(),
        // backhand also returns this for a directory entry that points back at a directory
        // being read: a loop, refused before it recurses.
        E::UnexpectedInode => {
            "an unexpected inode: of the wrong type, or a directory entry that points back at a directory being read (a directory loop)".into()
        }
        E::UnsupportedInode => "an inode type this reader does not support".into(),
        E::CorruptedOrInvalidSquashfs => {
            "corrupted or invalid squashfs (a table offset or size is out of range)".into()
        }
        E::InvalidCompressionOption => "invalid compression options".into(),
        E::InvalidFilePath => "an invalid file path in the directory table".into(),
        E::UndefineFileName => "a file without a name".into(),
        E::DuplicatedFileName => "two files of the same name in one directory".into(),
        E::TryReserveError(_) => "a table asks for more memory than can be reserved".into(),
        E::InvalidIdTable => "an invalid uid/gid table".into(),
        E::UnsupportedSquashfsVersion(a, b) => format!("unsupported squashfs version {a}.{b}"),
        E::NumericConversion(m) => format!("a size or offset out of range: {m}"),
        E::SystemTime(t) => format!("a time stamp out of range: {t}"),
        E::MutexPoisoned => "internal error (lock poisoned)".into(),
        E::IdNotFoundInTable => "a uid/gid index beyond the id table".into(),
        E::InternalState(m) => format!("internal state error: {m}"),
        E::CompressionInit(m) => format!("decompressor set-up failed: {m}"),
    }
}
