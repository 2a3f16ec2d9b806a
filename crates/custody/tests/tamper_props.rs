//! Properties: any single changed byte of a sealed field or of an encrypted
//! media object is detected, and garbage input never panics.

use std::sync::Arc;

use futures::TryStreamExt;
use proptest::prelude::*;
use sovereel_custody::{
    AccessContext, DecryptingReader, Keyring, PolicyGateway, Principal, Resource, UserKey, act,
};
use sovereel_media::{ByteRange, MediaStore, RangedRead};
use sovereel_model::ids::{RegionId, UserId};

fn key(dir: &std::path::Path) -> UserKey {
    let us = RegionId::parse("us").unwrap();
    let keyring = Keyring::open_embedded(us.clone(), dir).unwrap();
    let user = UserId::generate(&us);
    keyring.create_user_key(&user).unwrap();
    let grant = PolicyGateway::with_default_policies()
        .unwrap()
        .authorize(
            &Principal::user(user.clone()),
            act::ReadProtected,
            &Resource::protected(&user),
            &AccessContext::none(),
        )
        .unwrap();
    keyring.user_key(&grant).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_changed_character_of_a_sealed_field_is_refused(
        value in "[ -~]{0,64}",
        at in any::<prop::sample::Index>(),
        to in prop::char::range('!', '~'),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let key = key(dir.path());
        let sealed = key.encrypt_field("users.email", &value);
        let i = at.index(sealed.len());
        let mut chars: Vec<char> = sealed.chars().collect();
        prop_assume!(chars[i] != to);
        chars[i] = to;
        let tampered: String = chars.into_iter().collect();
        // base64url without padding can decode two spellings of the same
        // last byte; whatever decodes must still fail authentication.
        prop_assert!(key.decrypt_field("users.email", &tampered).is_err());
        let opened = key.decrypt_field("users.email", &sealed).unwrap();
        prop_assert_eq!(opened.as_str(), value.as_str());
    }

    #[test]
    fn garbage_never_panics(garbage in ".{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let key = key(dir.path());
        prop_assert!(key.decrypt_field("users.email", &garbage).is_err());
    }

    #[test]
    fn a_changed_byte_of_encrypted_media_fails_a_full_read(
        len in 0usize..5000,
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let key = Arc::new(key(&dir.path().join("keyring")));
        let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let src = dir.path().join("plain");
        let sealed = dir.path().join("media").join("obj");
        std::fs::create_dir_all(sealed.parent().unwrap()).unwrap();
        std::fs::write(&src, &plain).unwrap();
        key.encrypt_media_file_with_chunk("us_v", &src, &sealed, 512).unwrap();
        let mut bytes = std::fs::read(&sealed).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        std::fs::write(&sealed, &bytes).unwrap();
        let store = MediaStore::local(&dir.path().join("media")).unwrap();
        let reader = DecryptingReader::new(store, key, "us_v");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome: Result<Vec<u8>, String> = rt.block_on(async {
            let size = reader.size("obj").await.map_err(|e| e.to_string())?;
            if size == 0 {
                return Ok(Vec::new());
            }
            let s = reader
                .read_range("obj", ByteRange { first: 0, last: size - 1 })
                .await
                .map_err(|e| e.to_string())?;
            let parts: Vec<bytes::Bytes> = s.try_collect().await.map_err(|e| e.to_string())?;
            Ok(parts.concat())
        });
        prop_assert!(outcome.is_err(), "byte {} changed but the read succeeded", i);
    }
}
