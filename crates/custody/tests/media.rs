//! Private media: encrypted in chunks, stored in a real (local) media store,
//! and played back by Range through `sovereel_media::open_playback`.

use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use proptest::prelude::*;
use sovereel_custody::media::{CHUNK_SIZE, encrypted_size};
use sovereel_custody::{
    AccessContext, DecryptingReader, KeyError, Keyring, PolicyGateway, Principal, Resource,
    UserKey, act,
};
use sovereel_media::{ByteRange, MediaStore, RangedRead, open_playback};
use sovereel_model::ids::{RegionId, UserId};

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    gw: PolicyGateway,
    keyring: Keyring,
    store: MediaStore,
    user: UserId,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let us = RegionId::parse("us").unwrap();
    let keyring = Keyring::open_embedded(us.clone(), &root.join("keyring")).unwrap();
    let user = UserId::generate(&us);
    keyring.create_user_key(&user).unwrap();
    Fixture {
        gw: PolicyGateway::with_default_policies().unwrap(),
        store: MediaStore::local(&root.join("media")).unwrap(),
        keyring,
        user,
        root,
        _dir: dir,
    }
}

impl Fixture {
    fn key(&self) -> Result<Arc<UserKey>, KeyError> {
        let grant = self
            .gw
            .authorize(
                &Principal::user(self.user.clone()),
                act::ReadProtected,
                &Resource::protected(&self.user),
                &AccessContext::none(),
            )
            .unwrap();
        self.keyring.user_key(&grant).map(Arc::new)
    }

    /// Encrypts `plain` with the given chunk size and stores it under `key`.
    fn put(&self, object: &str, video: &str, plain: &[u8], chunk: u32) -> std::path::PathBuf {
        let src = self.root.join(format!("{video}.plain"));
        let sealed = self.root.join(format!("{video}.sealed"));
        std::fs::write(&src, plain).unwrap();
        let size = self
            .key()
            .unwrap()
            .encrypt_media_file_with_chunk(video, &src, &sealed, chunk)
            .unwrap();
        assert_eq!(size, std::fs::metadata(&sealed).unwrap().len());
        rt().block_on(self.store.put_file(object, &sealed)).unwrap();
        self.root.join("media").join(object)
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn media_bytes(len: usize, seed: u64) -> Vec<u8> {
    // A cheap deterministic generator: enough to make every chunk distinct.
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn read(
    reader: &dyn RangedRead,
    key: &str,
    first: u64,
    last: u64,
) -> Result<Vec<u8>, String> {
    let stream = reader
        .read_range(key, ByteRange { first, last })
        .await
        .map_err(|e| e.to_string())?;
    let parts: Vec<bytes::Bytes> = stream.try_collect().await.map_err(|e| e.to_string())?;
    Ok(parts.concat())
}

#[test]
fn ciphertext_holds_no_plaintext_and_has_the_documented_size() {
    let f = fixture();
    let mut plain = media_bytes(3 * CHUNK_SIZE as usize + 1234, 7);
    let canary = b"CANARY-private-video-bytes-5f1c";
    plain[100_000..100_000 + canary.len()].copy_from_slice(canary);
    let path = f.put("videos/v1", "us_v1", &plain, CHUNK_SIZE);
    let sealed = std::fs::read(&path).unwrap();
    assert_eq!(sealed.len() as u64, encrypted_size(plain.len() as u64));
    assert!(memchr::memmem::find(&sealed, canary).is_none());
    assert!(memchr::memmem::find(&sealed, &plain[5000..5032]).is_none());
}

#[test]
fn range_playback_through_open_playback() {
    let f = fixture();
    let plain = media_bytes(200_000, 3);
    f.put("videos/v2", "us_v2", &plain, CHUNK_SIZE);
    let reader = DecryptingReader::new(f.store.clone(), f.key().unwrap(), "us_v2");
    rt().block_on(async {
        assert_eq!(reader.size("videos/v2").await.unwrap(), 200_000);
        let playback = open_playback(&reader, "videos/v2", Some("bytes=65530-131080"))
            .await
            .unwrap();
        assert_eq!(playback.http_status(), 206);
        assert_eq!(
            playback.content_range().unwrap(),
            "bytes 65530-131080/200000"
        );
        let body: Vec<bytes::Bytes> = playback.body.try_collect().await.unwrap();
        assert_eq!(body.concat(), &plain[65530..=131080]);
        let whole = open_playback(&reader, "videos/v2", None).await.unwrap();
        assert_eq!(whole.http_status(), 200);
        let body: Vec<bytes::Bytes> = whole.body.try_collect().await.unwrap();
        assert_eq!(body.concat(), plain);
    });
}

#[test]
fn empty_media_round_trips() {
    let f = fixture();
    f.put("videos/empty", "us_e", b"", CHUNK_SIZE);
    let reader = DecryptingReader::new(f.store.clone(), f.key().unwrap(), "us_e");
    rt().block_on(async {
        assert_eq!(reader.size("videos/empty").await.unwrap(), 0);
        let p = open_playback(&reader, "videos/empty", None).await.unwrap();
        assert_eq!(p.content_length, 0);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_ranges_match_the_plaintext(
        len in 1usize..20_000,
        chunk in prop::sample::select(vec![1u32, 7, 512, 4096, 65536]),
        a in any::<u64>(),
        b in any::<u64>(),
        seed in any::<u64>(),
    ) {
        let f = fixture();
        let plain = media_bytes(len, seed);
        f.put("videos/p", "us_p", &plain, chunk);
        let reader = DecryptingReader::new(f.store.clone(), f.key().unwrap(), "us_p");
        let (x, y) = (a % len as u64, b % len as u64);
        let (first, last) = (x.min(y), x.max(y));
        let got = rt().block_on(async {
            prop_assert_eq!(reader.size("videos/p").await.unwrap(), len as u64);
            Ok(read(&reader, "videos/p", first, last).await.unwrap())
        })?;
        prop_assert_eq!(&got[..], &plain[first as usize..=last as usize]);
    }
}

#[test]
fn tampering_is_detected() {
    let f = fixture();
    let chunk = 1000u32;
    let plain = media_bytes(5500, 11);
    let path = f.put("videos/t", "us_t", &plain, chunk);
    let original = std::fs::read(&path).unwrap();
    let key = f.key().unwrap();
    let reader = DecryptingReader::new(f.store.clone(), key.clone(), "us_t");
    let rt = rt();
    let chunk_off = |i: u64| 64 + i * (u64::from(chunk) + 16);

    // A flipped bit in chunk 2: that chunk fails, the others still play.
    let mut bytes = original.clone();
    bytes[chunk_off(2) as usize + 10] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(rt.block_on(read(&reader, "videos/t", 2100, 2200)).is_err());
    assert_eq!(
        rt.block_on(read(&reader, "videos/t", 0, 999)).unwrap(),
        &plain[..1000]
    );

    // Two chunks swapped: both fail (the index is in the nonce and the AD).
    let mut bytes = original.clone();
    let (a, b) = (chunk_off(1) as usize, chunk_off(2) as usize);
    let n = chunk as usize + 16;
    let first = bytes[a..a + n].to_vec();
    bytes.copy_within(b..b + n, a);
    bytes[b..b + n].copy_from_slice(&first);
    std::fs::write(&path, &bytes).unwrap();
    assert!(rt.block_on(read(&reader, "videos/t", 1000, 1001)).is_err());
    assert!(rt.block_on(read(&reader, "videos/t", 2000, 2001)).is_err());

    // Truncated to whole chunks with a forged header size: the last chunk
    // kept is not marked final, and the header is authenticated.
    let mut bytes = original[..chunk_off(3) as usize].to_vec();
    bytes[8..16].copy_from_slice(&3000u64.to_be_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert!(rt.block_on(reader.size("videos/t")).is_err());
    assert!(rt.block_on(read(&reader, "videos/t", 2500, 2999)).is_err());
    assert!(rt.block_on(read(&reader, "videos/t", 0, 10)).is_err());

    // Plainly truncated: refused before playback.
    std::fs::write(&path, &original[..original.len() - 5]).unwrap();
    assert!(rt.block_on(reader.size("videos/t")).is_err());

    // The same object presented as another video: refused.
    std::fs::write(&path, &original).unwrap();
    let other = DecryptingReader::new(f.store.clone(), key, "us_other");
    assert!(rt.block_on(read(&other, "videos/t", 0, 10)).is_err());
    assert_eq!(
        rt.block_on(read(&reader, "videos/t", 0, 5499)).unwrap(),
        plain
    );
}

#[test]
fn after_the_key_is_destroyed_media_cannot_be_decrypted() {
    let f = fixture();
    let plain = media_bytes(150_000, 5);
    f.put("videos/gone", "us_g", &plain, CHUNK_SIZE);
    f.keyring.destroy_user_key(&f.user).unwrap();
    assert!(matches!(f.key(), Err(KeyError::NoUserKey)));
    // Even a fresh key for the same user opens nothing sealed before.
    f.keyring.create_user_key(&f.user).unwrap();
    let reader = DecryptingReader::new(f.store.clone(), f.key().unwrap(), "us_g");
    let rt = rt();
    assert!(rt.block_on(reader.size("videos/gone")).is_err());
    assert!(rt.block_on(read(&reader, "videos/gone", 0, 100)).is_err());
}

#[test]
fn store_encrypted_media_streams_into_the_store() {
    let f = fixture();
    let plain = media_bytes(70_000, 9);
    let src = f.root.join("incoming");
    std::fs::write(&src, &plain).unwrap();
    let key = f.key().unwrap();
    let rt = rt();
    rt.block_on(key.store_encrypted_media(&f.store, "videos/s", "us_s", &src))
        .unwrap();
    assert!(!Path::new(&src.with_extension("sealed")).exists());
    let reader = DecryptingReader::new(f.store.clone(), key, "us_s");
    assert_eq!(
        rt.block_on(read(&reader, "videos/s", 0, 69_999)).unwrap(),
        plain
    );
}
