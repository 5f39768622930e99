//! Keys: the file format, ids, account derivation, and that secrets never show.

use wmark_core::{Key, KeyId};

const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn counting_key() -> Key {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = i as u8;
    }
    Key::from_bytes(b)
}

#[test]
fn file_round_trip() {
    let key = counting_key();
    let text = key.to_file_string();
    assert_eq!(text.as_str(), format!("wmark-key-v1:{HEX}\n"));
    assert_eq!(Key::parse_file(&text).unwrap(), key);
}

#[test]
fn key_id_is_pinned() {
    // SHA-256("wmark.v1\0keyid\0" || 00..1f), first 8 bytes (also in prf-v1.toml).
    assert_eq!(counting_key().id().to_string(), "38a7695ce9a4847c");
    let id: KeyId = "38a7695ce9a4847c".parse().unwrap();
    assert_eq!(id, counting_key().id());
    assert!("38A7695CE9A4847C".parse::<KeyId>().is_err());
    assert!("1da3".parse::<KeyId>().is_err());
}

#[test]
fn account_key_is_pinned() {
    // HMAC-SHA256(00..1f, "wmark.v1\0account\0acme") (also in prf-v1.toml).
    let acme = counting_key().derive_account("acme");
    assert_eq!(
        acme.to_file_string().as_str(),
        "wmark-key-v1:3f36792721a1f1823c79cb4317b4aed4fc3f035b9d0ca0eefeec623315cd2a43\n"
    );
}

#[test]
fn malformed_files_are_rejected_with_line_and_reason() {
    let good = format!("wmark-key-v1:{HEX}\n");
    let cases: Vec<(String, usize, &str)> = vec![
        (String::new(), 1, "empty"),
        (format!("wmark-key-v1:{HEX}"), 1, "no final newline"),
        (format!("wmark-key-v1:{HEX}\r\n"), 1, "carriage return"),
        (format!("wmark-key-v2:{HEX}\n"), 1, "does not start with"),
        (format!("{HEX}\n"), 1, "does not start with"),
        (format!(" wmark-key-v1:{HEX}\n"), 1, "does not start with"),
        (format!("wmark-key-v1:{}\n", &HEX[..62]), 1, "62 characters"),
        (format!("wmark-key-v1:{HEX}00\n"), 1, "66 characters"),
        (format!("wmark-key-v1:{}\n", HEX.to_uppercase()), 1, "not a lowercase hex digit"),
        (format!("wmark-key-v1:{}g\n", &HEX[..63]), 1, "character 64"),
        (format!("{good}\n"), 2, "unexpected content"),
        (format!("{good}wmark-key-v1:{HEX}\n"), 2, "unexpected content"),
    ];
    for (text, line, reason) in cases {
        let err = Key::parse_file(&text).unwrap_err();
        assert!(err.is_key_file(), "{text:?}");
        assert_eq!(err.line(), Some(line), "{text:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(reason), "{text:?}: {msg}");
        assert!(msg.contains(&format!("line {line}")), "{msg}");
        // never echo the secret, or any long run of it
        assert!(!msg.contains(&HEX[..16]), "{msg}");
        assert!(!msg.to_lowercase().contains(&HEX[16..32]), "{msg}");
    }
}

#[test]
fn debug_and_display_never_show_the_key() {
    let key = counting_key();
    for shown in [format!("{key:?}"), format!("{key}"), format!("{key:#?}")] {
        assert!(shown.contains(&key.id().to_string()), "{shown}");
        assert!(!shown.contains(&HEX[..8]), "{shown}");
        assert!(!shown.contains("[0, 1, 2"), "{shown}");
    }
}

#[test]
fn generated_keys_differ_and_round_trip() {
    let a = Key::generate().unwrap();
    let b = Key::generate().unwrap();
    assert_ne!(a, b);
    assert_eq!(Key::parse_file(&a.to_file_string()).unwrap(), a);
}

#[test]
fn save_new_writes_0600_and_refuses_to_overwrite() {
    let dir = std::env::temp_dir().join(format!("wmark-core-key-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("k.key");
    let _ = std::fs::remove_file(&path);
    let key = Key::generate().unwrap();
    key.save_new(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(Key::load(&path).unwrap(), key);
    let before = std::fs::read(&path).unwrap();
    let err = Key::generate().unwrap().save_new(&path).unwrap_err();
    assert!(err.is_io(), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "existing key untouched");
    let missing = Key::load(&dir.join("missing.key")).unwrap_err();
    assert!(missing.is_io() && missing.to_string().contains("missing.key"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_utf8_file_is_a_key_file_error() {
    let dir = std::env::temp_dir().join(format!("wmark-core-key-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bin.key");
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    let err = Key::load_dangerously_ignoring_permissions(&path).unwrap_err();
    assert!(err.is_key_file(), "{err}");
    assert!(err.to_string().starts_with(&format!("{}: key file, line 1:", path.display())), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_unless_dangerously_asked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("wmark-core-key-mode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("open.key");
    let _ = std::fs::remove_file(&path);
    let key = Key::from_bytes([9; 32]);
    key.save_new(&path).unwrap();
    for mode in [0o640, 0o604, 0o660, 0o644] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = Key::load(&path).unwrap_err();
        assert!(err.is_insecure_key_file() && !err.is_key_file(), "{err}");
        assert!(
            err.to_string().contains(&format!("mode {mode:04o}")) && err.to_string().contains("chmod 600"),
            "{err}"
        );
        assert_eq!(Key::load_dangerously_ignoring_permissions(&path).unwrap(), key);
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(Key::load(&path).unwrap(), key, "read-only for the owner is fine");
    let not_a_file = Key::load(&dir).unwrap_err();
    assert!(not_a_file.is_key_file() && not_a_file.to_string().ends_with("not a key file"), "{not_a_file}");
    std::fs::remove_dir_all(&dir).unwrap();
}
